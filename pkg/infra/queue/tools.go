package queue

import (
	"encoding/json"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// ConnOpt returns the queue's Redis as an asynq.RedisConnOpt, for asynq's own tools (such as
// the asynqmon dashboard) to use this Client's connections, and so whatever topology its URL
// names. Those tools must not be closed: closing them closes this Client's connections, which
// the Client's Close already does.
func (c *Client) ConnOpt() asynq.RedisConnOpt { return sharedConn{c.rdb} }

// sharedConn hands asynq an existing client instead of making a new one.
type sharedConn struct{ rdb redis.UniversalClient }

func (s sharedConn) MakeRedisClient() any { return s.rdb }

// DisplayPayload renders a job's payload for people reading a queue dashboard: the email's
// kind and priority. Recipients, subjects and bodies are not in Redis at all (the worker reads
// them from the outbox by the task's id), so the dashboard cannot show a single-use link. It
// has the signature of asynqmon's PayloadFormatterFunc.
func DisplayPayload(taskType string, body []byte) string {
	p, err := decodePayload(taskType, body)
	if err != nil {
		// The state and reason are shown beside it; the bytes could hold anything.
		return "(not an email job this version can read)"
	}
	shown := struct {
		Kind     string `json:"kind"`
		Priority int    `json:"priority"`
		Email    string `json:"email"`
	}{p.Kind, p.Priority, "in the outbox: GET /api/v1/admin/jobs/<task id>"}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(shown) // cannot fail: strings and ints only
	return strings.TrimSuffix(b.String(), "\n")
}
