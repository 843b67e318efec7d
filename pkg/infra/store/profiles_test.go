package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

func TestUpdateUserName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u, err := b.store.CreateUser(b.ctx, store.NewUser{
		Email: "ann@example.org", Name: "Ann", PasswordHash: "hash", Role: oes.RoleStudent,
	})
	require.NoError(t, err)

	got, err := b.store.UpdateUserName(b.ctx, u.ID, "Ann Lee")
	require.NoError(t, err)
	require.Equal(t, "Ann Lee", got.Name)
	require.Equal(t, u.Email, got.Email)
	require.False(t, got.UpdatedAt.Before(u.UpdatedAt))

	_, err = b.store.UpdateUserName(b.ctx, u.ID+1000, "Nobody")
	requireCode(t, err, oes.ENOTFOUND)
}
