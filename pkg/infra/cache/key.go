package cache

import "strconv"

// Kind names a family of cached entries. Each kind has its own default TTL and its own counters.
type Kind uint8

// The zero Kind is not a kind: a zero Key is refused by every method.
const (
	KindExam Kind = iota + 1
	KindExamQuestions
	KindQuestion
	KindUserProfile
	KindExamResult
	KindUserExams
	KindAllExams
	KindOther

	kindCount = int(KindOther) + 1 // size of arrays indexed by Kind; index 0 is unused
)

var kindNames = [kindCount]string{
	KindExam:          "exam",
	KindExamQuestions: "exam_questions",
	KindQuestion:      "question",
	KindUserProfile:   "user_profile",
	KindExamResult:    "exam_result",
	KindUserExams:     "user_exams",
	KindAllExams:      "all_exams",
	KindOther:         "other",
}

// allKinds lists every valid kind, in declaration order.
func allKinds() []Kind {
	return []Kind{KindExam, KindExamQuestions, KindQuestion, KindUserProfile, KindExamResult,
		KindUserExams, KindAllExams, KindOther}
}

// String returns the kind's name as it appears in Redis keys and in reports, e.g. "exam_questions".
func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

func (k Kind) valid() bool { return k >= KindExam && k <= KindOther }

// Key identifies one cached entry: a kind and the id of the thing cached (or a name, for
// KindOther). Keys are comparable, so they can be used as map keys. Build them with the
// constructors below; the zero Key is invalid.
type Key struct {
	kind Kind
	id   int64
	name string
}

// Exam is the key of one exam's details.
func Exam(id int64) Key { return Key{kind: KindExam, id: id} }

// ExamQuestions is the key of the list of questions of one exam.
func ExamQuestions(examID int64) Key { return Key{kind: KindExamQuestions, id: examID} }

// Question is the key of one question.
func Question(id int64) Key { return Key{kind: KindQuestion, id: id} }

// UserProfile is the key of one user's profile.
func UserProfile(userID int64) Key { return Key{kind: KindUserProfile, id: userID} }

// ExamResult is the key of the result of one exam attempt.
func ExamResult(attemptID int64) Key { return Key{kind: KindExamResult, id: attemptID} }

// UserExams is the key of the list of exams of one user.
func UserExams(userID int64) Key { return Key{kind: KindUserExams, id: userID} }

// AllExams is the key of the list of all exams. It has no id.
var AllExams = Key{kind: KindAllExams}

// Named returns an ad-hoc key of KindOther. Its entries use Config.DefaultTTL unless
// Config.TTL names KindOther. Named keys never collide with the typed keys above.
func Named(name string) Key { return Key{kind: KindOther, name: name} }

// Kind returns the key's kind.
func (k Key) Kind() Kind { return k.kind }

// String returns the key as it appears, after the namespace and generation, in Redis:
// "exam:42", "all_exams", "other:<name>".
func (k Key) String() string {
	return string(k.appendTo(make([]byte, 0, 32)))
}

func (k Key) appendTo(b []byte) []byte {
	b = append(b, k.kind.String()...)
	switch k.kind {
	case KindAllExams:
	case KindOther:
		b = append(b, ':')
		b = append(b, k.name...)
	default:
		b = append(b, ':')
		b = strconv.AppendInt(b, k.id, 10)
	}
	return b
}
