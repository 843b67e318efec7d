package store

import (
	"context"
	"fmt"

	"github.com/oeshq/oes/db/dbsqlc"
	"github.com/oeshq/oes/pkg/oes"
)

// UpdateUserName sets the user's display name and returns the updated user. ENOTFOUND when
// there is no such user. The name must already be validated.
func (s *Store) UpdateUserName(ctx context.Context, id int64, name string) (oes.User, error) {
	row, err := s.q.UpdateUserName(ctx, s.pool, dbsqlc.UpdateUserNameParams{ID: id, Name: name})
	if err != nil {
		return oes.User{}, translate(err, fmt.Sprintf("user %d", id))
	}
	return userFromRow(row), nil
}
