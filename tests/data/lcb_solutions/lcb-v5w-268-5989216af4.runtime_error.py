class Solution:
    def countSubarrays(self, nums: List[int]) -> int:
        return nums[100]
