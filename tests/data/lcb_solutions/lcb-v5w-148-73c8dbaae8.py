n = int(input())
s = input().strip()
# digit i (0-based) contributes d * (i+1) * (10^0 + ... + 10^(n-1-i))
total = 0
rep = 0
for i in range(n - 1, -1, -1):
    rep = rep * 10 + 1
    total += int(s[i]) * (i + 1) * rep
print(total)
