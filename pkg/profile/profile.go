// Package profile serves a signed-in user's own profile: read through the cache, sealed there
// because it holds personal data, and invalidated by the writes that change it.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/cache"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/store"
)

// Service reads and edits profiles. The cached form is the JSON body, sealed by a
// cache.Sealer: it holds the email and the name, and never the password hash or a token.
//
// Only this service writes the fields a profile shows, apart from the email verification
// (which happens before the user can sign in, so before a profile can be cached) and the role
// (changed only by seeding, which a TTL bounds).
type Service struct {
	store  *store.Store
	cache  *cache.Cache // nil when caching is disabled by configuration
	sealer *cache.Sealer
	log    *slog.Logger
}

// NewService returns a Service. A nil cache serves every read from the store; a cache needs a
// sealer, since profiles must not be stored in clear.
func NewService(st *store.Store, c *cache.Cache, sealer *cache.Sealer, log *slog.Logger) (*Service, error) {
	if c != nil && sealer == nil {
		return nil, errors.New("profile: caching profiles needs a sealer")
	}
	return &Service{store: st, cache: c, sealer: sealer, log: log}, nil
}

// UpdateInput is the part of a profile its owner may change.
type UpdateInput struct {
	Name string `json:"name"`
}

// JSON returns the JSON body of the user's profile. ENOTFOUND when the user does not exist.
//
// A cached value that does not open (sealed under a previous key, or damaged) is a miss: the
// profile is loaded again and the entry overwritten, so a key rotation never serves garbage.
func (s *Service) JSON(ctx context.Context, userID int64) ([]byte, error) {
	if s.cache == nil {
		return s.load(ctx, userID)
	}
	key := cache.UserProfile(userID)
	sealed, err := s.cache.GetOrSet(ctx, key, 0, func(ctx context.Context) ([]byte, error) {
		v, err := s.load(ctx, userID)
		if err != nil {
			return nil, err
		}
		return s.sealer.Seal(key, v), nil
	})
	if err != nil {
		return nil, err
	}
	v, err := s.sealer.Open(key, sealed)
	if err == nil {
		return v, nil
	}
	s.log.DebugContext(ctx, "cached profile does not open; reloading", "key", key.String(), "err", err)
	v, err = s.load(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := s.cache.Set(ctx, key, s.sealer.Seal(key, v), 0); err != nil {
		s.log.WarnContext(ctx, "cannot replace a cached profile", "key", key.String(), "err", err)
	}
	return v, nil
}

// Update changes the user's name (1 to 100 characters, surrounding spaces dropped) and returns
// the updated user. EINVALID names the field; ENOTFOUND when the user does not exist.
func (s *Service) Update(ctx context.Context, userID int64, in UpdateInput) (oes.User, error) {
	name := strings.TrimSpace(in.Name)
	if msg := account.CheckName(name); msg != "" {
		return oes.User{}, oes.Invalid(oes.FieldError{Field: "name", Message: msg})
	}
	u, err := s.store.UpdateUserName(ctx, userID, name)
	if err != nil {
		return oes.User{}, err
	}
	s.invalidate(ctx, userID)
	return u, nil
}

func (s *Service) load(ctx context.Context, userID int64) ([]byte, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return json.Marshal(u)
}

// invalidate drops the cached profile after a committed write. The write has succeeded
// whatever happens here, so a failure is logged: the entry then expires by its TTL.
func (s *Service) invalidate(ctx context.Context, userID int64) {
	if s.cache == nil {
		return
	}
	if err := s.cache.Delete(ctx, cache.UserProfile(userID)); err != nil {
		s.log.WarnContext(ctx, "cache invalidation failed; the profile expires by TTL",
			"user_id", userID, "err", err)
	}
}
