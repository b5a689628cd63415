print("Yes" if sorted(input()) == list("ABC") else "No"
