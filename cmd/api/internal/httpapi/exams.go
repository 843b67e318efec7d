package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/exam"
	"github.com/oeshq/oes/pkg/infra/store"
	"github.com/oeshq/oes/pkg/oes"
)

type exams struct {
	svc *exam.Service
}

// The public reads write the cached JSON bytes as they are; admins get a fresh view with the
// answer key and unpublished exams.

func (h exams) list(c *gin.Context) {
	b, err := h.svc.PublishedExamsJSON(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.Data(http.StatusOK, contentTypeJSON, b)
}

func (h exams) get(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	if isAdmin(c) {
		e, err := h.svc.Exam(c.Request.Context(), id)
		respond(c, http.StatusOK, e, err)
		return
	}
	b, err := h.svc.ExamJSON(c.Request.Context(), id)
	respondBytes(c, b, err)
}

func (h exams) questions(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	if isAdmin(c) {
		qs, err := h.svc.ExamQuestions(c.Request.Context(), id)
		respond(c, http.StatusOK, gin.H{"exam_id": id, "questions": qs}, err)
		return
	}
	b, err := h.svc.ExamQuestionsJSON(c.Request.Context(), id)
	respondBytes(c, b, err)
}

func (h exams) question(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	if isAdmin(c) {
		q, err := h.svc.Question(c.Request.Context(), id)
		respond(c, http.StatusOK, q, err)
		return
	}
	b, err := h.svc.QuestionJSON(c.Request.Context(), id)
	respondBytes(c, b, err)
}

func (h exams) create(c *gin.Context) {
	var in oes.ExamInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	e, err := h.svc.CreateExam(c.Request.Context(), callerID(c), in)
	respond(c, http.StatusCreated, e, err)
}

func (h exams) update(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in oes.ExamInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	e, err := h.svc.UpdateExam(c.Request.Context(), id, in)
	respond(c, http.StatusOK, e, err)
}

func (h exams) delete(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	respondNoContent(c, h.svc.DeleteExam(c.Request.Context(), id))
}

func (h exams) createQuestion(c *gin.Context) {
	examID, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in oes.QuestionInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	q, err := h.svc.CreateQuestion(c.Request.Context(), examID, in)
	respond(c, http.StatusCreated, q, err)
}

func (h exams) updateQuestion(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in oes.QuestionInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	q, err := h.svc.UpdateQuestion(c.Request.Context(), id, in)
	respond(c, http.StatusOK, q, err)
}

func (h exams) deleteQuestion(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	respondNoContent(c, h.svc.DeleteQuestion(c.Request.Context(), id))
}

func respond(c *gin.Context, status int, v any, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(status, v)
}

func respondBytes(c *gin.Context, b []byte, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	c.Data(http.StatusOK, contentTypeJSON, b)
}

func respondNoContent(c *gin.Context, err error) {
	if err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// addCandidates assigns students to an exam.
func (h exams) addCandidates(c *gin.Context) {
	examID, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in store.CandidatesInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	added, err := h.svc.AddCandidates(c.Request.Context(), examID, in)
	respond(c, http.StatusOK, added, err)
}

// candidates lists an exam's candidates, paged as the admin lists are.
func (h exams) candidates(c *gin.Context) {
	examID, page, size, ok := idAndPage(c)
	if !ok {
		return
	}
	p, err := h.svc.Candidates(c.Request.Context(), examID, page, size)
	respond(c, http.StatusOK, p, err)
}

func (h exams) removeCandidate(c *gin.Context) {
	examID, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		writeError(c, err)
		return
	}
	respondNoContent(c, h.svc.RemoveCandidate(c.Request.Context(), examID, userID))
}

// announce writes an email to every candidate of an exam: 202, the emails are on their way.
func (h exams) announce(c *gin.Context) {
	examID, err := pathID(c, "id")
	if err != nil {
		writeError(c, err)
		return
	}
	var in exam.AnnouncementInput
	if err := decodeJSON(c, &in); err != nil {
		writeError(c, err)
		return
	}
	a, err := h.svc.Announce(c.Request.Context(), examID, in)
	respond(c, http.StatusAccepted, a, err)
}
