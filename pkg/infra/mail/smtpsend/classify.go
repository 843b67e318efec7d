package smtpsend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	oesmail "github.com/oeshq/oes/pkg/infra/mail"
)

// classify turns a failed session into a *mail.DeliveryError; see Send for the classes.
func classify(ctx context.Context, err error) error {
	var de *oesmail.DeliveryError
	if errors.As(err, &de) {
		return de
	}
	var se *stepError
	step := oesmail.StepSession
	if errors.As(err, &se) {
		step = stepOf(se)
	}
	// A reply is the server's word even when ctx ended meanwhile.
	var te *textproto.Error
	if errors.As(err, &te) {
		d := &oesmail.DeliveryError{Class: oesmail.ClassTemporary, Step: step, Code: te.Code, Reply: oneLine(te.Msg), Err: err}
		if te.Code >= 500 && te.Code < 600 && !(se != nil && se.setup()) {
			d.Class = oesmail.ClassPermanent
		}
		return d
	}
	if ctx.Err() != nil {
		d := cancelled(ctx, err)
		d.Step = step
		return d
	}
	return &oesmail.DeliveryError{Class: oesmail.ClassNetwork, Step: step, Reply: err.Error(), Err: err}
}

// stepOf names a session's step in mail's terms: the set-up steps are one to a sender's
// caller, since each says the server cannot take mail now.
func stepOf(se *stepError) oesmail.Step {
	switch {
	case se.setup():
		return oesmail.StepSession
	case se.step == stepMail:
		return oesmail.StepSender
	case se.step == stepRcpt:
		return oesmail.StepRecipient
	default:
		return oesmail.StepData
	}
}

// cancelled is the error of a send whose ctx ended; cause is what the send was doing then,
// if anything.
func cancelled(ctx context.Context, cause error) *oesmail.DeliveryError {
	err := ctx.Err()
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return &oesmail.DeliveryError{Class: oesmail.ClassNetwork, Reply: "delivery cancelled: " + ctx.Err().Error(), Err: err}
}

// isStale reports whether err is how a connection the server closed while it sat in the
// pool fails: at MAIL FROM, the first command of a reused session, with the connection
// ending or a 421 the server sent as it hung up. A timeout is not staleness: the server is
// there but slow, and retrying would only double the wait.
func isStale(err error) bool {
	var se *stepError
	if !errors.As(err, &se) || se.step != stepMail {
		return false
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code == 421
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// oneLine joins the lines of a multi-line reply, to fit a job's failed reason.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }
