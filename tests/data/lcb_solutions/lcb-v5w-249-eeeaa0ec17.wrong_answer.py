class Solution:
    def smallestNumber(self, n: int) -> int:
        return n
