package dwssim

import (
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error answer of the API. Its Status and Code are what the
// real service sends (or the simulator's documented choice, §8).
type apiError struct {
	Status  int
	Code    string
	Message string
	// Gateway errors (APIG.*) carry the request id in the body as well.
	Gateway bool
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Code      string `json:"error_code"`
	Message   string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

// Error codes the simulator answers with (docs/dws-dr-api.md §5 and §8).
const (
	CodeAuth            = "APIG.0301"
	CodeThrottled       = "APIG.0308"
	CodeNoSuchAPI       = "APIG.0101"
	CodeInvalidID       = "DWS.0001"
	CodeNoSuchCluster   = "DWS.0047"
	CodeTypeOrVersion   = "DWS.5005"
	CodeOutOfRange      = "DWS.5038"
	CodeNameTaken       = "DWS.5050"
	CodeStringLength    = "DWS.5056"
	CodeInvalidFormat   = "DWS.5065"
	CodeStateNotAllowed = "DWS.7023"
	CodeInternal        = "DWS.9999"
	CodeNoSuchTask      = "DWS.10101"
)

// Fixed messages; the brief and the API reference quote these verbatim.
const (
	msgNameTaken     = "The DR name already exists."
	msgTypeOrVersion = "Database type or version not supported."
	msgState         = "Cluster status is not allowed to operation."
	msgNoSuchTask    = "The disaster recovery does not exist."
	msgNoSuchCluster = "The cluster does not exist."
)

func invalidFormat(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidFormat, Message: fmt.Sprintf(format, args...)}
}

var (
	errNoSuchTask    = &apiError{Status: http.StatusBadRequest, Code: CodeNoSuchTask, Message: msgNoSuchTask}
	errNoSuchCluster = &apiError{Status: http.StatusNotFound, Code: CodeNoSuchCluster, Message: msgNoSuchCluster}
	errNameTaken     = &apiError{Status: http.StatusConflict, Code: CodeNameTaken, Message: msgNameTaken}
	errTypeOrVersion = &apiError{Status: http.StatusBadRequest, Code: CodeTypeOrVersion, Message: msgTypeOrVersion}
	errState         = &apiError{Status: http.StatusForbidden, Code: CodeStateNotAllowed, Message: msgState}
	errNoSuchAPI     = &apiError{Status: http.StatusNotFound, Code: CodeNoSuchAPI, Gateway: true,
		Message: "The API does not exist or has not been published in the environment."}
)

// asAPIError maps any error to the answer the client gets: the one place
// that decides a status. Unexpected errors become 500 DWS.9999.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "Internal error."}
}
