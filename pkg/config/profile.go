package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// GenerateCacheKey is the CACHE_ENCRYPTION_KEY value that asks for a key made at start-up. Only
// local runs use it (make run and the benchmarks set it): entries sealed by one process cannot
// be read by another, so replicas must share a configured key.
const GenerateCacheKey = "generate"

// CacheEncryption holds the key that seals cached personal data (profiles: email and name).
type CacheEncryption struct {
	CacheEncryptionKey string `envconfig:"CACHE_ENCRYPTION_KEY" desc:"AES-256 key sealing cached personal data: 32 bytes as base64 (44 characters) or hex (64), e.g. from 'openssl rand -base64 32'; 'generate' makes one per process, for local runs only (secret; no default: serve with the cache enabled refuses to start without it)"`
}

// Validate checks the form of the key. An empty key passes, since only serving with the cache
// needs one; see SealingKey.
func (c CacheEncryption) Validate() error {
	if c.CacheEncryptionKey == "" || c.CacheEncryptionKey == GenerateCacheKey {
		return nil
	}
	_, err := decodeKey(c.CacheEncryptionKey)
	return err
}

// SealingKey returns the 32-byte key, making a random one when the variable says generate
// (generated reports that). It fails, naming CACHE_ENCRYPTION_KEY and never repeating the
// value, when the key is missing or malformed.
func (c CacheEncryption) SealingKey() (key []byte, generated bool, err error) {
	switch c.CacheEncryptionKey {
	case "":
		return nil, false, errors.New("CACHE_ENCRYPTION_KEY: must be set to encrypt cached profiles: 32 bytes as base64 or hex, e.g. from 'openssl rand -base64 32' (or 'generate' for a local run)")
	case GenerateCacheKey:
		key = make([]byte, cacheKeyBytes)
		_, _ = rand.Read(key)
		return key, true, nil
	}
	key, err = decodeKey(c.CacheEncryptionKey)
	return key, false, err
}

const cacheKeyBytes = 32

// decodeKey reads 32 bytes written as hex (64 characters) or base64 (standard or URL alphabet,
// padded or not).
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*cacheKeyBytes {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != cacheKeyBytes {
				return nil, fmt.Errorf("CACHE_ENCRYPTION_KEY: must decode to %d bytes, got %d", cacheKeyBytes, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("CACHE_ENCRYPTION_KEY: want %d bytes as base64 (44 characters) or hex (64 characters)", cacheKeyBytes)
}
