package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/oeshq/oes/db"
)

// SiblingDatabaseURL returns dbURL naming the database <name><suffix> instead of <name>
// ("oes" when dbURL names none): a program keeps its data out of the database the demo and the
// developer use. The error never repeats the URL, which may hold a password.
func SiblingDatabaseURL(dbURL, suffix string) (string, error) {
	if dbURL == "" {
		return "", errors.New("DATABASE_URL is not set; run through deploy/local/with-services.sh")
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		// A *url.Error repeats the URL, password included.
		return "", errors.New("DATABASE_URL is not a valid URL")
	}
	name := strings.Trim(u.Path, "/")
	if name == "" {
		name = "oes"
	}
	u.Path = "/" + name + suffix
	u.RawPath = ""
	return u.String(), nil
}

// FreshSchema creates the database dbURL names when it is missing, replaces the schema called
// schema in it with an empty one (an earlier run's is dropped with everything in it), applies
// the migrations to it and returns the URL whose connections use it (its search_path). The
// schema is left in place afterwards, for a look at what a run did.
func FreshSchema(ctx context.Context, dbURL, schema string) (string, error) {
	if err := db.EnsureDatabase(ctx, dbURL); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
		return "", fmt.Errorf("drop schema %s: %w", schema, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", errors.New("DATABASE_URL is not a valid URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if err := db.Migrate(ctx, u.String()); err != nil {
		return "", err
	}
	return u.String(), nil
}
