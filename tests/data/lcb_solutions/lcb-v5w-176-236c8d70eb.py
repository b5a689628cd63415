import math
n = int(input())
# 9 divisors: p^8, or p^2 q^2 (p < q)
lim = math.isqrt(n)
sieve = bytearray([1]) * (lim + 1)
sieve[0:2] = b"\x00\x00"
for i in range(2, math.isqrt(lim) + 1):
    if sieve[i]:
        sieve[i * i::i] = bytearray(len(sieve[i * i::i]))
primes = [i for i in range(lim + 1) if sieve[i]]
import bisect
ans = sum(1 for p in primes if p ** 8 <= n)
for i, p in enumerate(primes):
    if p * p * (p + 1) * (p + 1) > n:
        break
    m = math.isqrt(n) // p
    ans += bisect.bisect_right(primes, m) - (i + 1)
print(ans)
