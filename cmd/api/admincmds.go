package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/oeshq/oes/cmd/api/internal/httpapi"
	"github.com/oeshq/oes/pkg/account"
	"github.com/oeshq/oes/pkg/infra/auth"
	"github.com/oeshq/oes/pkg/infra/cache"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
	"github.com/oeshq/oes/pkg/profile"
)

const adminUsage = `Usage:
  api admin create --email <address> [--name <name>]   < password
  api admin set-role --email <address> --role admin|student

create makes a verified admin account. Its password is the first line of stdin, or
OES_ADMIN_PASSWORD when that is set; it is never taken from the command line. It fails when an
account with the email exists: make that account an admin with set-role instead.

set-role changes an account's role; the access tokens issued to the account before stop
working. The last admin cannot be demoted.
`

// adminCmd runs "api admin <create|set-role> ...".
func adminCmd(ctx context.Context, cfg Config, args []string, stdin io.Reader, log *slog.Logger) error {
	if len(args) == 0 {
		return errors.New("admin: want a subcommand, create or set-role\n\n" + adminUsage)
	}
	sub, args := args[0], args[1:]
	for _, a := range args {
		if name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-"); strings.HasPrefix(a, "-") && name == "password" {
			return errors.New("admin: the password is never read from the command line, where ps and shell history show it: " +
				"pipe it on stdin or set OES_ADMIN_PASSWORD")
		}
	}
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "")
	var name, role *string
	switch sub {
	case "create":
		name = fs.String("name", "Administrator", "")
	case "set-role":
		role = fs.String("role", "", "")
	default:
		return fmt.Errorf("admin: unknown subcommand %q; want create or set-role\n\n%s", sub, adminUsage)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("admin %s: %w\n\n%s", sub, err, adminUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin %s: unexpected argument %q\n\n%s", sub, fs.Arg(0), adminUsage)
	}
	if *email == "" {
		return fmt.Errorf("admin %s: --email is required\n\n%s", sub, adminUsage)
	}

	pool, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	st := store.New(pool)

	if sub == "create" {
		password, err := adminPassword(cfg, stdin)
		if err != nil {
			return err
		}
		accounts, err := newAccounts(cfg, st, nil, nil, log)
		if err != nil {
			return err
		}
		u, err := accounts.CreateAdmin(ctx, account.RegisterInput{Email: *email, Name: *name, Password: password})
		if oes.ErrorCode(err) == oes.ECONFLICT {
			return fmt.Errorf("admin create: %s; to make it an admin run: api admin set-role --email %s --role admin",
				oes.ErrorMessage(err), *email)
		}
		if err != nil {
			return fmt.Errorf("admin create: %s", explain(err))
		}
		log.Info("admin created", "user_id", u.ID, "email", u.Email)
		return nil
	}

	// A change of role must reach the api's cached profiles, which hold the role every request
	// is checked against.
	revoker, closeRevoker, err := openRevoker(cfg, st, log)
	if err != nil {
		return err
	}
	defer closeRevoker()
	accounts, err := newAccounts(cfg, st, nil, revoker, log)
	if err != nil {
		return err
	}
	u, err := accounts.SetRoleByEmail(ctx, *email, *role)
	if err != nil {
		return fmt.Errorf("admin set-role: %s", explain(err))
	}
	log.Info("role set", "user_id", u.ID, "email", u.Email, "role", u.Role)
	return nil
}

// adminPassword returns OES_ADMIN_PASSWORD, else the first line of stdin without its line end.
func adminPassword(cfg Config, stdin io.Reader) (string, error) {
	if cfg.AdminPassword != "" {
		return cfg.AdminPassword, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("admin create: read the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("admin create: no password: pipe it on stdin (one line) or set OES_ADMIN_PASSWORD")
	}
	return line, nil
}

// openRevoker returns what drops the cached profiles of the api when the cache is enabled, and
// the function that closes its connection. The change is made whether or not Redis answers;
// if it does not, the cached profile expires by its TTL (logged). The profile service drops
// the entry a second time a few seconds later (profile.Service.Revoke); this process may have
// exited by then, which leaves only a load racing the change within milliseconds unaccounted
// for, bounded by the access tokens' lifetime.
func openRevoker(cfg Config, st *store.Store, log *slog.Logger) (account.Revoker, func(), error) {
	if !cfg.CacheEnabled {
		return nil, func() {}, nil
	}
	sealer, err := openSealer(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	c, err := cache.New(cfg.CacheURL(cfg.RedisURL), cfg.CacheConfig(), log)
	if err != nil {
		return nil, nil, fmt.Errorf("CACHE_REDIS_URL/REDIS_URL: %w", err)
	}
	profiles, err := profile.NewService(st, c, sealer, log)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return profiles, c.Close, nil
}

// newAccounts returns the account service as the api configures it. tokens may be nil where
// nobody signs in; revoker is nil when nothing is cached.
func newAccounts(cfg Config, st *store.Store, tokens *auth.Tokens, revoker account.Revoker, log *slog.Logger) (*account.Service, error) {
	return account.NewService(st, tokens, account.Config{
		VerifyURL: cfg.LinkBase() + httpapi.VerifyPagePath,
		ResetURL:  cfg.LinkBase() + httpapi.ResetPagePath,
		VerifyTTL: cfg.VerifyTokenTTL,
		ResetTTL:  cfg.ResetTokenTTL,
		Revoker:   revoker,
	}, log)
}

// explain renders an error for the terminal: the fields an EINVALID names, or the
// caller-safe message with its cause.
func explain(err error) string {
	var e *oes.Error
	if errors.As(err, &e) && e.Code == oes.EINVALID && len(e.Fields) > 0 {
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = f.Field + " " + f.Message
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}
