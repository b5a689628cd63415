print("Yes" if sorted(input().strip()) == ["A", "B", "C"] else "No")
