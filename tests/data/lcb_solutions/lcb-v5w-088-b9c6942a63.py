class Solution:
    def findMaximumScore(self, nums: List[int]) -> int:
        best = 0
        ans = 0
        for x in nums[:-1]:
            best = max(best, x)
            ans += best
        return ans
