package mail_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/infra/mail"
)

func TestServerUnavailableMeansEveryEmailWouldFail(t *testing.T) {
	tests := []struct {
		name string
		err  mail.DeliveryError
		want bool
	}{
		{"networkAtSession", mail.DeliveryError{Class: mail.ClassNetwork, Step: mail.StepSession, Reply: "connect: connection refused"}, true},
		{"networkAtData", mail.DeliveryError{Class: mail.ClassNetwork, Step: mail.StepData, Reply: "message data: connection reset by peer"}, true},
		{"networkWithoutStep", mail.DeliveryError{Class: mail.ClassNetwork, Reply: "smtpsend: sender closed"}, true},
		{"421AtData", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepData, Code: 421, Reply: "4.3.2 shutting down"}, true},
		{"421AtRecipient", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepRecipient, Code: 421, Reply: "4.7.0 too many connections"}, true},
		{"535AtSession", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepSession, Code: 535, Reply: "5.7.8 authentication failed"}, true},
		{"454AtSession", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepSession, Code: 454, Reply: "4.7.0 TLS not available"}, true},
		{"451AtSender", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepSender, Code: 451, Reply: "4.3.0 local error"}, true},
		{"temporaryWithoutStep", mail.DeliveryError{Class: mail.ClassTemporary, Code: 451, Reply: "4.3.0 try again later"}, true},
		{"451AtRecipient", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepRecipient, Code: 451, Reply: "4.7.1 greylisted"}, false},
		{"452AtData", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepData, Code: 452, Reply: "4.2.2 mailbox full"}, false},
		{"550AtRecipient", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 550, Reply: "5.1.1 no such user"}, false},
		{"554AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 554, Reply: "5.7.1 spam"}, false},
		// MAIL FROM names the system's own address: every email would be refused alike.
		{"553AtSender", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepSender, Code: 553, Reply: "5.7.1 sender rejected"}, true},
		{"530AtSender", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepSender, Code: 530, Reply: "5.7.0 authentication required"}, true},
		{"invalidMessage", mail.DeliveryError{Class: mail.ClassPermanent, Reply: "invalid message: subject must not be blank"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.err.ServerUnavailable(), "%v at %q", &tt.err, tt.err.Step)
		})
	}
}

func TestRecipientRefusedMeansTheAddressIsBadForGood(t *testing.T) {
	tests := []struct {
		name string
		err  mail.DeliveryError
		want bool
	}{
		{"550AtRecipient", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 550, Reply: "5.1.1 no such user"}, true},
		{"550AtRecipientWithoutEnhancedCode", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 550, Reply: "mailbox unavailable"}, true},
		{"554_511AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 554, Reply: "5.1.1 no such user"}, true},
		{"550_512AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 550, Reply: "5.1.2 no such domain"}, true},
		{"552AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 552, Reply: "5.3.4 message too big"}, false},
		{"554_571AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 554, Reply: "5.7.1 spam"}, false},
		{"450AtRecipient", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepRecipient, Code: 450, Reply: "4.2.1 mailbox busy"}, false},
		{"451_411AtData", mail.DeliveryError{Class: mail.ClassTemporary, Step: mail.StepData, Code: 451, Reply: "4.1.1 try again"}, false},
		{"networkAtRecipient", mail.DeliveryError{Class: mail.ClassNetwork, Step: mail.StepRecipient, Reply: "RCPT TO: connection reset by peer"}, false},
		{"invalidMessage", mail.DeliveryError{Class: mail.ClassPermanent, Reply: "invalid message: to[0] is not a valid email address"}, false},
		// 5.1.7 and 5.1.8 are about the sender's address (RFC 3463); a 5xx to MAIL FROM is too.
		{"553_518AtSender", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepSender, Code: 553, Reply: "5.1.8 sender domain does not exist"}, false},
		{"550_517AtData", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepData, Code: 550, Reply: "5.1.7 bad sender address syntax"}, false},
		// A policy refusal at RCPT TO says nothing about the address.
		{"554_571AtRecipient", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 554, Reply: "5.7.1 relay denied"}, false},
		{"553AtRecipientWithoutEnhancedCode", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 553, Reply: "mailbox name not allowed"}, true},
		{"554AtRecipientWithoutEnhancedCode", mail.DeliveryError{Class: mail.ClassPermanent, Step: mail.StepRecipient, Code: 554, Reply: "transaction failed"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.err.RecipientRefused(), "%v at %q", &tt.err, tt.err.Step)
		})
	}
}
