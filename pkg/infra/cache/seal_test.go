package cache_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/cache"
)

func newSealer(t *testing.T) *cache.Sealer {
	t.Helper()
	key := make([]byte, cache.SealKeyBytes)
	_, _ = rand.Read(key)
	s, err := cache.NewSealer(key)
	require.NoError(t, err)
	return s
}

func TestSealerRoundTripHidesThePlaintext(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	value := []byte(`{"email":"ada@example.org","name":"Ada"}`)
	a, b := s.Seal(cache.UserProfile(1), value), s.Seal(cache.UserProfile(1), value)
	require.NotEqual(t, a, b, "each seal uses a fresh nonce")
	require.False(t, bytes.Contains(a, []byte("ada@example.org")))
	got, err := s.Open(cache.UserProfile(1), a)
	require.NoError(t, err)
	require.Equal(t, value, got)
}

func TestSealerRefusesWhatItDidNotSeal(t *testing.T) {
	t.Parallel()
	s, other := newSealer(t), newSealer(t)
	sealed := s.Seal(cache.UserProfile(1), []byte("secret"))

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		sealer *cache.Sealer
		key    cache.Key
		value  []byte
	}{
		"otherKey":      {other, cache.UserProfile(1), sealed},
		"otherCacheKey": {s, cache.UserProfile(2), sealed},
		"tampered":      {s, cache.UserProfile(1), tampered},
		"plain":         {s, cache.UserProfile(1), []byte(`{"name":"Ada"}`)},
		"short":         {s, cache.UserProfile(1), sealed[:10]},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.sealer.Open(tc.key, tc.value)
			require.ErrorIs(t, err, cache.ErrSealedOther)
		})
	}
}

func TestNewSealerWantsA256BitKey(t *testing.T) {
	t.Parallel()
	_, err := cache.NewSealer(make([]byte, 16))
	require.Error(t, err)
}
