a, b, c = map(int, input().split())
ok = (a == b == c) or a + b == c or a + c == b or b + c == a
print("Yes" if ok else "No")
