n, c1, c2 = input().split()
s = input().strip()
print("".join(ch if ch == c1 else c2 for ch in s))
