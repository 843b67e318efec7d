package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/oeshq/oes/db"
	"github.com/oeshq/oes/pkg/demo"
	"github.com/oeshq/oes/pkg/infra/store"
)

// migrate creates the database named in DATABASE_URL when missing and applies every
// migration that has not run yet.
func migrate(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if err := db.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log.Info("migrations applied")
	return nil
}

// seed loads the demo data set; running it again changes nothing.
func seed(ctx context.Context, cfg Config, log *slog.Logger) error {
	pool, err := store.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	sum, err := demo.Seed(ctx, pool)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	log.Info("demo data loaded", "exams_created", sum.ExamsCreated, "exams_already_present", sum.ExamsSkipped,
		"admin", sum.Admin.Email, "student", sum.Student.Email)
	return nil
}
