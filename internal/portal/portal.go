// Package portal holds the DR Portal's own domain types: requests and their
// statuses, approvals, the approval policy, operations and users. It
// imports nothing of the portal, so every other package can speak of a
// request without speaking of storage or of the cloud's SDK: the store maps
// its rows to these types and the DWS client maps the SDK's models.
package portal
