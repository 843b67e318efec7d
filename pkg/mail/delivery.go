package mail

import (
	"context"
	"errors"
	"fmt"
)

// Class says what a failed delivery means for retrying it.
type Class string

const (
	// ClassPermanent: the server refused the message for good (a 5xx reply such as 550 no such
	// user); retrying cannot help.
	ClassPermanent Class = "permanent"
	// ClassTemporary: the server asked to try later (a 4xx reply such as 451).
	ClassTemporary Class = "temporary"
	// ClassNetwork: the connection failed, timed out or dropped; try again.
	ClassNetwork Class = "network"
)

// DeliveryError is a failed delivery, classified. Reply is the server's reply text, fit to
// show as a job's failed reason (it never holds credentials).
type DeliveryError struct {
	Class Class
	Code  int // the SMTP reply code, 0 when there was none
	Reply string
	Err   error
}

func (e *DeliveryError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s: %d %s", e.Class, e.Code, e.Reply)
	}
	return fmt.Sprintf("%s: %s", e.Class, e.Reply)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a delivery failure that retrying cannot fix.
func IsPermanent(err error) bool {
	var d *DeliveryError
	return errors.As(err, &d) && d.Class == ClassPermanent
}

// ClassOf returns the class of a delivery failure; an unclassified error counts as network.
func ClassOf(err error) Class {
	var d *DeliveryError
	if errors.As(err, &d) {
		return d.Class
	}
	return ClassNetwork
}

// Progress points a sender reports while delivering one message.
const (
	ProgressConnecting = 10 // a connection is being taken or dialled
	ProgressData       = 50 // the message data has been sent
	ProgressAccepted   = 100
)

// Sender delivers messages. progress, when not nil, is called with the Progress points as
// delivery goes on. Errors are *DeliveryError.
type Sender interface {
	Send(ctx context.Context, m Message, progress func(percent int)) error
}
