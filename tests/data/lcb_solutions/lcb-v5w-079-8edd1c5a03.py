class Solution:
    def largestPalindrome(self, n: int, k: int) -> str:
        # digit DP from the outside in: greedily pick the largest digit pair
        # for which the rest can still complete a multiple of k
        half = (n + 1) // 2
        pw = [pow(10, i, k) for i in range(n)]
        weight = []
        for i in range(half):
            j = n - 1 - i
            weight.append((pw[i] + pw[j]) % k if i != j else pw[i])
        # can[i][r]: positions i.. can add up to r (mod k)
        can = [[False] * k for _ in range(half + 1)]
        can[half][0] = True
        for i in range(half - 1, -1, -1):
            for r in range(k):
                if can[i + 1][r]:
                    for d in range(10):
                        can[i][(r + d * weight[i]) % k] = True
        digits = []
        need = 0
        for i in range(half):
            for d in range(9, -1, -1):
                rest = (need - d * weight[i]) % k
                if can[i + 1][rest]:
                    digits.append(d)
                    need = rest
                    break
        s = "".join(map(str, digits))
        return s + s[: n // 2][::-1]
