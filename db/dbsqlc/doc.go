// Package dbsqlc is the code sqlc generates from the queries in sql/queries and the schema in
// db/migrations (make generate). Only pkg/infra/store imports it, which make verify checks: the
// rest of the system sees the store's methods and the domain's types, never a row.
package dbsqlc
