print(input().replace(".", "")[100])
