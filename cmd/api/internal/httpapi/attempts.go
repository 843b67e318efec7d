package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/attempt"
	"github.com/oeshq/oes/pkg/exam"
)

type attempts struct {
	svc   *attempt.Service
	exams *exam.Service
}

// caller returns who signed in, or answers 401 and returns false.
func (h attempts) caller(c *gin.Context) (attempt.Caller, bool) {
	id, ok := signedIn(c)
	return attempt.Caller{UserID: id, Admin: isAdmin(c)}, ok
}

// callerAndID returns who signed in and the path's id, or answers 401 or 400 and returns false.
func (h attempts) callerAndID(c *gin.Context) (attempt.Caller, int64, bool) {
	who, ok := h.caller(c)
	if !ok {
		return who, 0, false
	}
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return who, 0, false
	}
	return who, id, true
}

// start answers 201 with a new attempt, or 200 with the one already in progress.
func (h attempts) start(c *gin.Context) {
	who, examID, ok := h.callerAndID(c)
	if !ok {
		return
	}
	v, created, err := h.svc.Start(c.Request.Context(), examID, who.UserID)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	respond(c, status, v, err)
}

// openExams answers with the exams the caller may still take.
func (h attempts) openExams(c *gin.Context) {
	who, ok := h.caller(c)
	if !ok {
		return
	}
	v, err := h.svc.OpenExams(c.Request.Context(), who.UserID)
	respond(c, http.StatusOK, v, err)
}

// questions answers with the questions of the caller's attempt in progress, as cached bytes:
// the way a student reads an exam whose questions are not public.
func (h attempts) questions(c *gin.Context) {
	who, id, ok := h.callerAndID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	examID, err := h.svc.QuestionsExam(ctx, id, who)
	if err != nil {
		writeError(c, err)
		return
	}
	b, err := h.exams.AttemptQuestionsJSON(ctx, examID)
	respondBytes(c, b, err)
}

func (h attempts) saveAnswers(c *gin.Context) {
	who, id, ok := h.callerAndID(c)
	if !ok {
		return
	}
	var in attempt.AnswersInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	v, err := h.svc.SaveAnswers(c.Request.Context(), id, who, in)
	respond(c, http.StatusOK, v, err)
}

func (h attempts) submit(c *gin.Context) {
	who, id, ok := h.callerAndID(c)
	if !ok {
		return
	}
	b, err := h.svc.Submit(c.Request.Context(), id, who)
	respondBytes(c, b, err)
}

func (h attempts) result(c *gin.Context) {
	who, id, ok := h.callerAndID(c)
	if !ok {
		return
	}
	b, err := h.svc.ResultJSON(c.Request.Context(), id, who)
	respondBytes(c, b, err)
}

func (h attempts) mine(c *gin.Context) {
	who, ok := h.caller(c)
	if !ok {
		return
	}
	b, err := h.svc.UserExamsJSON(c.Request.Context(), who.UserID)
	respondBytes(c, b, err)
}

// examResults lists an exam's graded attempts for an admin, paged as the job lists are.
func (h attempts) examResults(c *gin.Context) {
	examID, page, size, ok := idAndPage(c)
	if !ok {
		return
	}
	p, err := h.svc.ExamResults(c.Request.Context(), examID, page, size)
	respond(c, http.StatusOK, p, err)
}
