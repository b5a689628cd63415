x = input().strip()
if "." in x:
    x = x.rstrip("0").rstrip(".")
print(x)
