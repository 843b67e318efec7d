// Package profile serves a signed-in user's own profile: read through the cache, sealed there
// because it holds personal data, and invalidated by the writes that change it. The same cached
// entry tells the api, on every authenticated request, the user's current role and token
// version (Access), so that checking an access token against them costs no query while the
// entry is cached.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

// Service reads and edits profiles. The cached form is the JSON of an entry holding the body
// with the role and token version beside it, sealed by a cache.Sealer: it holds the email and
// the name, and never the password hash or a token.
//
// This service writes the name; the other writes of what an entry holds call Revoke once they
// have committed: a change of role (account.Service.SetRole), a password reset. The email
// verification happens before the user can sign in, so before a profile can be cached; seeding
// changes accounts behind the cache's back, which the entry's TTL bounds.
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

// Access is what an access token is checked against: the user's role and token version now.
type Access struct {
	Role         string
	TokenVersion int64
}

// entry is the cached form of a profile.
type entry struct {
	Role         string          `json:"role"`
	TokenVersion int64           `json:"token_version"`
	Profile      json.RawMessage `json:"profile"` // the body JSON answers
}

// JSON returns the JSON body of the user's profile. ENOTFOUND when the user does not exist.
func (s *Service) JSON(ctx context.Context, userID int64) ([]byte, error) {
	e, err := s.entry(ctx, userID)
	return e.Profile, err
}

// Access returns the user's current role and token version, from the cache when it holds the
// profile. ENOTFOUND when the user does not exist (deleted since the token was issued).
func (s *Service) Access(ctx context.Context, userID int64) (Access, error) {
	e, err := s.entry(ctx, userID)
	return Access{Role: e.Role, TokenVersion: e.TokenVersion}, err
}

// entry returns the user's cached entry, loading it on a miss.
//
// A cached value that does not open (sealed under a previous key, or damaged) or does not
// decode (written in an earlier form) is a miss: the profile is loaded again and the entry
// overwritten, so a key rotation never serves garbage.
func (s *Service) entry(ctx context.Context, userID int64) (entry, error) {
	if s.cache == nil {
		return s.load(ctx, userID)
	}
	key := cache.UserProfile(userID)
	sealed, err := s.cache.GetOrSet(ctx, key, 0, func(ctx context.Context) ([]byte, error) {
		e, err := s.load(ctx, userID)
		if err != nil {
			return nil, err
		}
		return s.seal(key, e)
	})
	if err != nil {
		return entry{}, err
	}
	e, err := s.open(key, sealed)
	if err == nil {
		return e, nil
	}
	s.log.DebugContext(ctx, "cached profile does not open; reloading", "key", key.String(), "err", err)
	e, err = s.load(ctx, userID)
	if err != nil {
		return entry{}, err
	}
	v, err := s.seal(key, e)
	if err != nil {
		return entry{}, err
	}
	if err := s.cache.Set(ctx, key, v, 0); err != nil {
		s.log.WarnContext(ctx, "cannot replace a cached profile", "key", key.String(), "err", err)
	}
	return e, nil
}

func (s *Service) seal(key cache.Key, e entry) ([]byte, error) {
	v, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(key, v), nil
}

func (s *Service) open(key cache.Key, sealed []byte) (entry, error) {
	v, err := s.sealer.Open(key, sealed)
	if err != nil {
		return entry{}, err
	}
	var e entry
	if err := json.Unmarshal(v, &e); err != nil {
		return entry{}, err
	}
	if len(e.Profile) == 0 || e.Role == "" {
		return entry{}, errors.New("profile: cached entry of an earlier form")
	}
	return e, nil
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

// loadTimeout bounds a load from the store. The cache runs a load detached from the request
// that asked for it, so without a bound a stuck query could store a stale entry long after the
// write that invalidated it (see Revoke).
const loadTimeout = 2 * time.Second

// staleFillWindow is how long after an invalidation a load that began before the write may
// still store what it read: loadTimeout, and the cache's write that follows, bounded by the
// cache's one-second I/O timeout.
const staleFillWindow = loadTimeout + 2*time.Second

func (s *Service) load(ctx context.Context, userID int64) (entry, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return entry{}, err
	}
	body, err := json.Marshal(u)
	if err != nil {
		return entry{}, err
	}
	return entry{Role: u.Role, TokenVersion: u.TokenVersion, Profile: body}, nil
}

// Revoke drops the user's cached profile after a committed write that changed the user's role,
// password or token version, or deleted the user: from then on Access reads the user anew, on
// every replica (Redis tells each one). A load that read the user before the write and stores
// it after the drop would bring the old entry back, so the entry is dropped once more when such
// a load must have ended (staleFillWindow, a few seconds). ctx's values (the request id) ride
// along; its cancellation does not, since the write has happened whatever the caller does.
func (s *Service) Revoke(ctx context.Context, userID int64) {
	s.invalidate(ctx, userID)
	if s.cache == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	time.AfterFunc(staleFillWindow, func() {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		s.invalidate(ctx, userID)
	})
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
