class Solution:
    def minElement(self, nums: List[int]) -> int:
        return {1}
