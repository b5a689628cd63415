n = int(input())
a = list(map(int, input().split()))
last = {}
ans = 0
for i, x in enumerate(a):
    p = last.get(x, -1)
    ans += (i - p) * (n - i)
    last[x] = i
print(ans)
