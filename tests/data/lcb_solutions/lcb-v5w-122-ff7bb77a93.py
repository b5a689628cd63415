n = int(input())
s = input().strip()
print(sum(1 for i in range(n - 2) if s[i] == "#" and s[i + 1] == "." and s[i + 2] == "#"))
