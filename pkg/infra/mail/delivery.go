package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// Step is where in an SMTP session a delivery failed.
type Step string

const (
	StepSession   Step = "session"   // connecting, the greeting, EHLO, STARTTLS, AUTH
	StepSender    Step = "sender"    // MAIL FROM
	StepRecipient Step = "recipient" // RCPT TO
	StepData      Step = "data"      // DATA, the message, the reply to it
)

// DeliveryError is a failed delivery, classified. Reply is the server's reply text, fit to
// show as a job's failed reason (it never holds credentials).
type DeliveryError struct {
	Class Class
	Step  Step
	Code  int // the SMTP reply code, 0 when there was none
	Reply string
	Err   error
}

// ServerUnavailable reports whether the failure says the server cannot take mail now, whatever
// the message: it could not be reached, dropped or timed out, refused the session (even with a
// 5xx: a wrong password is the server's set-up, not the email's fault), closed the channel
// (421), or refused the sender (MAIL FROM names the system's own address, so every email would
// be refused alike). Such a failure is an outage, not a verdict on the email.
func (e *DeliveryError) ServerUnavailable() bool {
	switch {
	case e.Class == ClassNetwork, e.Code == 421:
		return true
	case e.Step == StepSession, e.Step == StepSender:
		return true
	case e.Class == ClassTemporary:
		return e.Step == ""
	}
	return false
}

// RecipientRefused reports whether the server refused the recipient's address for good, so
// that emails to it would fail the same way: a reply whose enhanced status is about a
// destination address (5.1.x other than 5.1.7 and 5.1.8, the sender's, RFC 3463), at any step
// of the message, or a 550, 551 or 553 to RCPT TO without an enhanced status. A policy refusal
// (5.7.x, such as a relay denied) says nothing of the address and does not count.
func (e *DeliveryError) RecipientRefused() bool {
	if e.Class != ClassPermanent || e.Step == StepSession || e.Step == StepSender {
		return false
	}
	status, _, _ := strings.Cut(e.Reply, " ")
	if isEnhancedStatus(status) {
		return strings.HasPrefix(status, "5.1.") && status != "5.1.7" && status != "5.1.8"
	}
	return e.Step == StepRecipient && (e.Code == 550 || e.Code == 551 || e.Code == 553)
}

// isEnhancedStatus reports whether s has the form of an RFC 3463 status code, such as 5.1.1.
func isEnhancedStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || parts[0] < "2" || parts[0] > "5" {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
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

// Sender delivers messages. Send returns the server's reply to the message, such as
// "250 2.0.0 Ok: queued as 4F2A1"; errors are *DeliveryError.
type Sender interface {
	Send(ctx context.Context, m Message) (reply string, err error)
}
