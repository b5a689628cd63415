class Solution:
    def maxDistinctElements(self, nums: List[int], k: int) -> int:
        nums.sort()
        last = -inf
        ans = 0
        for x in nums:
            v = max(last + 1, x - k)
            if v <= x + k:
                ans += 1
                last = v
        return ans
