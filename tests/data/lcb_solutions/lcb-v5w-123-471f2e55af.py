s = input().strip()
left = [0] * 26
right = [0] * 26
for ch in s:
    right[ord(ch) - 65] += 1
ans = 0
for ch in s:
    c = ord(ch) - 65
    right[c] -= 1
    ans += sum(left[k] * right[k] for k in range(26))
    left[c] += 1
print(ans)
