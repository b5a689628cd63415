print("Yes" if input().strip().endswith("san") else "No")
