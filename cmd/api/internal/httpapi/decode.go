package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/oeshq/oes/pkg/oes"
)

// decodeJSON reads the request body into v, refusing unknown fields, trailing data, and
// values of the wrong type, each with the name of the field at fault.
func decodeJSON(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err != io.EOF {
			return oes.Invalid(oes.FieldError{Field: "body", Message: "must hold one JSON object only"})
		}
		return nil
	}

	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return oes.Errorf(oes.ETOOLARGE, "request body exceeds %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return oes.Invalid(oes.FieldError{Field: "body", Message: "is empty; a JSON object is required"})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return oes.Invalid(oes.FieldError{Field: "body", Message: "is not valid JSON"})
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return oes.Invalid(oes.FieldError{Field: field, Message: fmt.Sprintf("must be a %s", jsonType(typeErr.Type.String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if unquoted, err := strconv.Unquote(name); err == nil {
			name = unquoted
		}
		// Only the first unknown field is named; writeError bounds how much of it is echoed.
		return oes.Invalid(oes.FieldError{Field: name, Message: "is not a known field"})
	default:
		return oes.Invalid(oes.FieldError{Field: "body", Message: "could not be read as JSON"})
	}
}

func jsonType(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "whole number in range"
	case strings.Contains(goType, "string"):
		return "string"
	case strings.Contains(goType, "bool"):
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	default:
		return "JSON object"
	}
}

// pathID reads a positive integer id from the path parameter name.
func pathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id < 1 {
		return 0, oes.Invalid(oes.FieldError{Field: name, Message: "must be a positive integer"})
	}
	return id, nil
}
