// Package emailmetrics holds the email worker's Prometheus metrics: how deliveries go and how
// full the queue's lanes are. It is apart from package metrics so that the worker does not
// link the cache.
package emailmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oeshq/oes/pkg/infra/mail"
	"github.com/oeshq/oes/pkg/infra/queue"
)

// namespace is metrics.Namespace, repeated so as not to import the api's collectors.
const namespace = "oes"

// Delivery counts deliveries; it is the delivery.Handler's Observer (delivery.WithObserver).
//
//	oes_emails_delivered_total                 messages the SMTP server accepted
//	oes_emails_failed_total{class}             emails failed for good (5xx, attempts spent, or the retry window passed)
//	oes_emails_retried_total{class}            failed tries that will be tried again (deferrals included)
//	oes_smtp_send_duration_seconds{outcome}    SMTP send latency; outcome is delivered or a class
//	oes_email_deliveries_paused{dependency}    1 while deliveries wait for the SMTP server or Postgres
//	oes_email_queue_wait_seconds{lane}         time from an email being due to a worker taking its job
//
// class is permanent, temporary or network (mail.ClassOf); lane is critical, default or low.
type Delivery struct {
	delivered prometheus.Counter
	failed    *prometheus.CounterVec
	retried   *prometheus.CounterVec
	send      *prometheus.HistogramVec
	paused    *prometheus.GaugeVec
	wait      *prometheus.HistogramVec
}

// outcomeDelivered is the send histogram's outcome for an accepted message.
const outcomeDelivered = "delivered"

var classes = []mail.Class{mail.ClassPermanent, mail.ClassTemporary, mail.ClassNetwork}

var lanes = []string{queue.LaneCritical, queue.LaneDefault, queue.LaneLow}

// NewDelivery registers the delivery metrics on reg and returns them. Every class's series
// exists from the start, at zero, so that rates over them need no special case.
func NewDelivery(reg prometheus.Registerer) *Delivery {
	d := &Delivery{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "emails_delivered_total",
			Help: "Email messages the SMTP server accepted.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "emails_failed_total",
			Help: "Email jobs failed for good, by the class of the last failure.",
		}, []string{"class"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "emails_retried_total",
			Help: "Failed email attempts that will be retried, by class of failure.",
		}, []string{"class"}),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "smtp_send_duration_seconds",
			Help: "Time to hand one message to the SMTP server, by outcome (delivered, or the failure's class).",
			// From a warm pooled connection (milliseconds) to a relay's slow timeouts.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"outcome"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "email_deliveries_paused",
			Help: "1 while this worker's deliveries wait for a dependency that is down (smtp, postgres), else 0.",
		}, []string{"dependency"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "email_queue_wait_seconds",
			Help: "Time from an email being due (written, its scheduled time, or an admin's retry) to a worker taking its job, " +
				"by lane; first tries only, as a retry's wait is its backoff.",
			// An idle worker looks every EMAIL_FETCH_INTERVAL (20ms); delayed jobs are released
			// in whole seconds; a backlog waits minutes.
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"lane"}),
	}
	reg.MustRegister(d.delivered, d.failed, d.retried, d.send, d.paused, d.wait)
	for _, c := range classes {
		d.failed.WithLabelValues(string(c))
		d.retried.WithLabelValues(string(c))
	}
	for _, dep := range []string{"smtp", "postgres"} {
		d.paused.WithLabelValues(dep)
	}
	for _, l := range lanes {
		d.wait.WithLabelValues(l)
	}
	return d
}

// Paused records that deliveries wait for dependency (true) or resumed (false); it is the
// worker's delivery.WorkerConfig.OnPause.
func (d *Delivery) Paused(dependency string, paused bool) {
	v := 0.0
	if paused {
		v = 1
	}
	d.paused.WithLabelValues(dependency).Set(v)
}

// Sent implements delivery.Observer.
func (d *Delivery) Sent(took time.Duration, err error) {
	outcome := outcomeDelivered
	if err != nil {
		outcome = string(mail.ClassOf(err))
	}
	// The send time first: a scrape that counts a delivery has its send time too.
	d.send.WithLabelValues(outcome).Observe(took.Seconds())
	if err == nil {
		d.delivered.Inc()
	}
}

// Taken implements delivery.Observer.
func (d *Delivery) Taken(lane string, waited time.Duration) {
	d.wait.WithLabelValues(lane).Observe(max(waited, 0).Seconds())
}

// Failed implements delivery.Observer.
func (d *Delivery) Failed(class mail.Class, retry bool) {
	if retry {
		d.retried.WithLabelValues(string(class)).Inc()
		return
	}
	d.failed.WithLabelValues(string(class)).Inc()
}
