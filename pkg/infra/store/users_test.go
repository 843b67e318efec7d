package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

func TestUserCreateAndFindByIDAndEmailIgnoringCase(t *testing.T) {
	t.Parallel()
	b := setup(t)

	created, err := b.store.CreateUser(b.ctx, store.NewUser{
		Email: "Ann@Example.org", Name: "Ann", PasswordHash: "hash", Role: oes.RoleStudent,
	})
	require.NoError(t, err)
	require.Equal(t, "Ann@Example.org", created.Email, "the address is kept as written")
	require.Nil(t, created.EmailVerifiedAt)

	got, err := b.store.GetUser(b.ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, created, got)

	acc, err := b.store.GetAccountByEmail(b.ctx, "ann@EXAMPLE.org")
	require.NoError(t, err)
	require.Equal(t, created, acc.User)
	require.Equal(t, "hash", acc.PasswordHash)

	_, err = b.store.GetAccountByEmail(b.ctx, "bob@example.org")
	requireCode(t, err, oes.ENOTFOUND)
}

func TestUpsertUserUpdatesTheAccountWithTheSameEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	verified := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

	first, err := b.store.UpsertUser(b.ctx, store.NewUser{
		Email: "a@example.org", Name: "A", PasswordHash: "h1", Role: oes.RoleStudent, EmailVerifiedAt: &verified,
	})
	require.NoError(t, err)

	later := verified.Add(time.Hour)
	second, err := b.store.UpsertUser(b.ctx, store.NewUser{
		Email: "A@EXAMPLE.ORG", Name: "A2", PasswordHash: "h2", Role: oes.RoleAdmin, EmailVerifiedAt: &later,
	})
	require.NoError(t, err)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, "A2", second.Name)
	require.Equal(t, oes.RoleAdmin, second.Role)
	require.True(t, verified.Equal(*second.EmailVerifiedAt), "the first verification is kept")
	require.Equal(t, first.TokenVersion+1, second.TokenVersion, "overwriting the password revokes the tokens")

	acc, err := b.store.GetAccountByEmail(b.ctx, "a@example.org")
	require.NoError(t, err)
	require.Equal(t, "h2", acc.PasswordHash)
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM users"))
}

func TestSetUserRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	newUser := func(email, role string) oes.User {
		u, err := b.store.CreateUser(b.ctx, store.NewUser{Email: email, Name: "N", PasswordHash: "h", Role: role})
		require.NoError(t, err)
		return u
	}
	admin := newUser("admin@example.org", oes.RoleAdmin)
	student := newUser("student@example.org", oes.RoleStudent)

	_, err := b.store.SetUserRole(b.ctx, admin.ID, oes.RoleStudent)
	requireCode(t, err, oes.ELASTADMIN)
	_, err = b.store.SetUserRole(b.ctx, student.ID+100, oes.RoleAdmin)
	requireCode(t, err, oes.ENOTFOUND)
	_, err = b.store.SetUserRole(b.ctx, student.ID, "root")
	e := requireCode(t, err, oes.EINVALID)
	require.Equal(t, "role", e.Fields[0].Field)

	same, err := b.store.SetUserRole(b.ctx, student.ID, oes.RoleStudent)
	require.NoError(t, err)
	require.Equal(t, student, same, "setting the role the user has changes nothing")

	promoted, err := b.store.SetUserRole(b.ctx, student.ID, oes.RoleAdmin)
	require.NoError(t, err)
	require.Equal(t, oes.RoleAdmin, promoted.Role)
	require.Equal(t, student.TokenVersion+1, promoted.TokenVersion, "a change of role revokes the tokens")

	demoted, err := b.store.SetUserRole(b.ctx, admin.ID, oes.RoleStudent)
	require.NoError(t, err, "another admin remains")
	require.Equal(t, admin.TokenVersion+1, demoted.TokenVersion)
}

// Two admins demoting each other at once cannot leave the system without an admin.
func TestSetUserRoleKeepsAnAdminUnderConcurrentDemotions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for round := range 10 {
		var ids [2]int64
		for i := range ids {
			u, err := b.store.CreateUser(b.ctx, store.NewUser{Email: fmt.Sprintf("a%d-%d@example.org", round, i), Name: "N", PasswordHash: "h", Role: oes.RoleAdmin})
			require.NoError(t, err)
			ids[i] = u.ID
		}
		_, err := b.pool.Exec(b.ctx, "UPDATE users SET role = 'student' WHERE role = 'admin' AND NOT (id = ANY($1))", ids[:])
		require.NoError(t, err)

		errs := make(chan error, 2)
		for _, id := range ids {
			go func() {
				_, err := b.store.SetUserRole(b.ctx, id, oes.RoleStudent)
				errs <- err
			}()
		}
		var codes []string
		for range ids {
			codes = append(codes, oes.ErrorCode(<-errs))
		}
		require.ElementsMatch(t, []string{"", oes.ELASTADMIN}, codes)
		require.Equal(t, 1, b.count(t, "SELECT count(*) FROM users WHERE role = 'admin'"))
	}
}

func TestListUsersPagesAndSearches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, e := range []string{"Ann@Example.org", "bob@example.org", "carl@other.org", "100%_off@example.org"} {
		_, err := b.store.CreateUser(b.ctx, store.NewUser{Email: e, Name: "N", PasswordHash: "h", Role: oes.RoleStudent})
		require.NoError(t, err)
	}
	emails := func(email string, page, size int) []string {
		us, err := b.store.ListUsers(b.ctx, email, page, size)
		require.NoError(t, err)
		out := []string{}
		for _, u := range us {
			out = append(out, u.Email)
		}
		return out
	}
	require.Equal(t, []string{"Ann@Example.org", "bob@example.org"}, emails("", 1, 2))
	require.Equal(t, []string{"carl@other.org", "100%_off@example.org"}, emails("", 2, 2))
	require.Equal(t, []string{"Ann@Example.org", "bob@example.org", "100%_off@example.org"}, emails("EXAMPLE", 1, 10))
	require.Equal(t, []string{"100%_off@example.org"}, emails("%_", 1, 10), "% and _ match themselves")
	require.Empty(t, emails("example", 2, 10))
	require.Empty(t, emails("", 0, 10))
}
