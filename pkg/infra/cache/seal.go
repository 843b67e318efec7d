package cache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// SealKeyBytes is the length of a Sealer's key: AES-256.
const SealKeyBytes = 32

// sealVersion starts every sealed value, so that a later format can be told from this one.
const sealVersion = 1

const (
	keyIDBytes  = 4
	nonceBytes  = 12
	sealedExtra = 1 + keyIDBytes + nonceBytes // before the ciphertext, which carries its tag
)

// ErrSealedOther is returned (wrapped) by Open for a value it cannot open: sealed under another
// key (after a rotation), in another format, or altered. Callers treat it as a miss.
var ErrSealedOther = errors.New("cache: sealed value does not open under this key")

// Sealer encrypts cached values that hold personal data, so that a copy of Redis (a dump, a
// replica, a MONITOR session) does not disclose them. It is separate from Cache so that the
// cache stays a store of bytes and only the services that cache personal data pay for
// encryption.
//
// A sealed value is
//
//	0x01 | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// where the key id is the first 4 bytes of SHA-256(key). The additional data is the cache key
// ("user_profile:42"), so a value copied under another key does not open. A value sealed under
// another key fails to open rather than decrypting to garbage: after a key rotation old entries
// read as misses.
type Sealer struct {
	aead cipher.AEAD
	id   [keyIDBytes]byte
}

// NewSealer returns a Sealer using key, which must be SealKeyBytes long.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SealKeyBytes {
		return nil, fmt.Errorf("cache: sealing key must be %d bytes, got %d", SealKeyBytes, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cache: sealing key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cache: sealing key: %w", err)
	}
	s := &Sealer{aead: aead}
	sum := sha256.Sum256(key)
	copy(s.id[:], sum[:keyIDBytes])
	return s, nil
}

// Seal encrypts value for storage under key, with a fresh random nonce.
func (s *Sealer) Seal(key Key, value []byte) []byte {
	out := make([]byte, sealedExtra, sealedExtra+len(value)+s.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], s.id[:])
	nonce := out[1+keyIDBytes : sealedExtra]
	// crypto/rand.Read never fails (it panics if the system's source is broken).
	_, _ = rand.Read(nonce)
	return s.aead.Seal(out, nonce, value, s.ad(key))
}

// Open decrypts a value that Seal produced for key. It fails with ErrSealedOther when the value
// was sealed under another key, for another cache key, or altered.
func (s *Sealer) Open(key Key, sealed []byte) ([]byte, error) {
	if len(sealed) < sealedExtra+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: %v: not a sealed value", ErrSealedOther, key)
	}
	if [keyIDBytes]byte(sealed[1:1+keyIDBytes]) != s.id {
		return nil, fmt.Errorf("%w: %v: sealed under another key", ErrSealedOther, key)
	}
	nonce := sealed[1+keyIDBytes : sealedExtra]
	v, err := s.aead.Open(nil, nonce, sealed[sealedExtra:], s.ad(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %v: %v", ErrSealedOther, key, err)
	}
	return v, nil
}

func (s *Sealer) ad(key Key) []byte { return key.appendTo(make([]byte, 0, 32)) }
