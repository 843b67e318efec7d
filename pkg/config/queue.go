package config

import (
	"fmt"

	"github.com/oeshq/oes/pkg/infra/queue"
	"github.com/oeshq/oes/pkg/infra/store"
)

// Queue configures the email queue as both binaries see it: the api serves its dashboard and
// the worker relays the outbox onto its lanes and consumes them.
type Queue struct {
	QueuePrefix string `envconfig:"QUEUE_PREFIX" default:"email" desc:"name prefix of the email queue's lanes (<prefix>:critical, :default, :low); api and worker must agree"`
	// The api writes the attempts of the emails it makes into the outbox; the worker reads
	// each email's own.
	EmailAttempts int `envconfig:"EMAIL_ATTEMPTS" default:"3" desc:"how many tries of a result email may fail for a reason other than an outage (a 5xx fails at once; outages spend none)"`
}

func (q Queue) Validate() error {
	if err := queue.CheckPrefix(q.QueuePrefix); err != nil {
		return fmt.Errorf("QUEUE_PREFIX: %w", err)
	}
	if q.EmailAttempts < 1 || q.EmailAttempts > store.MaxEmailAttempts {
		return fmt.Errorf("EMAIL_ATTEMPTS: must be between 1 and %d, got %d", store.MaxEmailAttempts, q.EmailAttempts)
	}
	return nil
}

// ClientConfig is the configuration of a queue client that inspects the queue at r: the api's,
// for its dashboard. It cannot enqueue; the worker's (workerenv.Env.QueueConfig) can.
func (q Queue) ClientConfig(r Redis) queue.Config {
	return queue.Config{RedisURL: r.QueueURL(), QueuePrefix: q.QueuePrefix}
}
