package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/store"
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

	acc, err := b.store.GetAccountByEmail(b.ctx, "a@example.org")
	require.NoError(t, err)
	require.Equal(t, "h2", acc.PasswordHash)
	require.Equal(t, 1, b.count(t, "SELECT count(*) FROM users"))
}
