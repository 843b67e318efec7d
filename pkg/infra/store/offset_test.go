package store

import (
	"math"
	"math/big"
	"testing"
)

// FuzzOffset checks the paging arithmetic against exact arithmetic: a page is reachable
// exactly when it starts within an int32 of rows, and then starts where it should.
func FuzzOffset(f *testing.F) {
	for _, s := range [][2]int{
		{1, 20}, {2, 20}, {0, 20}, {-1, 20}, {1, 0}, {math.MaxInt, 2}, {math.MaxInt, math.MaxInt},
		{math.MinInt, -1}, {math.MaxInt32, 1}, {math.MaxInt32 + 1, 1}, {2, math.MaxInt32}, {3, math.MaxInt32},
		{1<<32 + 1, 1 << 32}, {math.MaxInt/2 + 2, 2},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, page, size int) {
		skip, ok := offset(page, size)
		before := new(big.Int).Sub(big.NewInt(int64(page)), big.NewInt(1))
		exact := new(big.Int).Mul(before, big.NewInt(int64(size)))
		want := page >= 1 && size >= 1 && size <= math.MaxInt32 && exact.IsInt64() && exact.Int64() <= math.MaxInt32
		if ok != want {
			t.Fatalf("offset(%d, %d) reachable = %v, want %v", page, size, ok, want)
		}
		if ok && int64(skip) != exact.Int64() {
			t.Fatalf("offset(%d, %d) = %d, want %s", page, size, skip, exact)
		}
	})
}
