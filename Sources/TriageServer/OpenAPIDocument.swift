/// `GET /openapi.json`: an OpenAPI 3.1 description of exactly the routes ``buildRouter`` registers (a test compares
/// the two both ways).
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Triage",
        "version": "1",
        "description": "Classify customer-support queries with an LLM. Every /v1 route needs Authorization: Bearer KEY (the server refuses to start without keys unless its operator passes --no-auth); every POST sends Content-Type: application/json (or application/x-ndjson to ingest), else 415; a Host the server does not answer to gets 403."
      },
      "components": {
        "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
        "schemas": {
          "Query": {
            "type": "object", "required": ["text"],
            "properties": {
              "text": { "type": "string", "minLength": 1 }, "subject": { "type": "string" },
              "channel": { "type": "string" }, "customerId": { "type": "string" },
              "externalId": { "type": "string", "description": "Ingest is idempotent on it." },
              "createdAt": { "type": "string", "format": "date-time" },
              "expected": { "type": "object", "description": "Labels the query should get, for evaluation; stored, never sent to the LLM; each must be in the taxonomy.",
                "properties": { "category": { "type": "string" }, "priority": { "type": "string" }, "sentiment": { "type": "string" } } },
              "metadata": { "type": "object", "additionalProperties": { "type": "string" } }
            }
          },
          "Classification": {
            "type": "object",
            "properties": {
              "category": { "type": "string" }, "priority": { "type": "string" }, "sentiment": { "type": "string" },
              "language": { "type": "string" }, "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
              "summary": { "type": "string" }, "model": { "type": "string" }, "taxonomyVersion": { "type": "string" },
              "promptTokens": { "type": "integer" }, "completionTokens": { "type": "integer" },
              "latencyMs": { "type": "number" }, "costUSD": { "type": "number" },
              "classifiedAt": { "type": "string", "format": "date-time" }
            }
          },
          "RunRequest": {
            "type": "object",
            "properties": {
              "batchSize": { "type": "integer", "minimum": 1 }, "maxConcurrent": { "type": "integer", "minimum": 1 },
              "limit": { "type": "integer", "minimum": 1 },
              "via": { "type": "string", "enum": ["online", "batch"],
                       "description": "batch: through the provider's batch API, half the price, within 24 hours." },
              "webhook": { "type": "string", "format": "uri", "description": "Receives the run's end event, signed." }
            }
          },
          "Error": {
            "type": "object",
            "properties": { "error": { "type": "object", "properties": { "message": { "type": "string" } } } }
          }
        }
      },
      "security": [{ "apiKey": [] }],
      "paths": {
        "/": { "get": { "summary": "Status page shell (HTML without data; its script fetches /v1/status-page with the key typed into it)", "security": [], "responses": { "200": { "description": "HTML" } } } },
        "/healthz": { "get": { "summary": "The process is up", "security": [], "responses": { "200": { "description": "ok" } } } },
        "/readyz": { "get": { "summary": "The store and the LLM endpoint are reachable (checked at most every 5 s)", "security": [],
          "responses": { "200": { "description": "{status: ready, store: ok, llm: ok}" }, "503": { "description": "not ready, naming the check that failed (details only in the server's log)" } } } },
        "/metrics": { "get": { "summary": "Prometheus metrics", "security": [], "responses": { "200": { "description": "text format 0.0.4" } } } },
        "/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3.1" } } } },
        "/v1/classify": { "post": { "summary": "Classify one query now; nothing is stored",
          "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Query" } } } },
          "responses": { "200": { "description": "the classification", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Classification" } } } },
            "400": { "description": "malformed JSON or a missing field, named" }, "401": { "description": "no valid API key" },
            "413": { "description": "body over the limit" }, "502": { "description": "the LLM failed" } } } },
        "/v1/queries": {
          "post": { "summary": "Ingest one query, a JSON array, or NDJSON; idempotent on externalId",
            "requestBody": { "required": true, "content": {
              "application/json": { "schema": { "oneOf": [ { "$ref": "#/components/schemas/Query" }, { "type": "array", "items": { "$ref": "#/components/schemas/Query" } } ] } },
              "application/x-ndjson": { "schema": { "type": "string" } } } },
            "responses": { "201": { "description": "inserted and duplicates counted" }, "200": { "description": "all were duplicates" },
              "400": { "description": "malformed input, naming the line or query and field" }, "413": { "description": "body over the limit" } } },
          "get": { "summary": "Queries, paginated",
            "parameters": [
              { "name": "status", "in": "query", "schema": { "type": "string", "enum": ["pending", "processing", "classified", "failed"] } },
              { "name": "category", "in": "query", "schema": { "type": "string" } },
              { "name": "needsReview", "in": "query", "schema": { "type": "boolean" }, "description": "only queries flagged for review (confidence under --review-below) and not corrected yet" },
              { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 } },
              { "name": "cursor", "in": "query", "schema": { "type": "string" }, "description": "nextCursor of the previous page" } ],
            "responses": { "200": { "description": "{queries, nextCursor}" } } } },
        "/v1/queries/{id}": { "get": { "summary": "One query with its status and classification",
          "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "responses": { "200": { "description": "the query" }, "404": { "description": "no such query" } } },
          "patch": { "summary": "Correct a query's labels: kept beside the model's answer (who, when), never overwritten by a later run",
          "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["category"],
            "properties": { "category": { "type": "string" }, "priority": { "type": "string" }, "sentiment": { "type": "string" },
              "note": { "type": "string" }, "by": { "type": "string", "description": "who corrects; api when absent" } } } } } },
          "responses": { "200": { "description": "the query with its correction" }, "400": { "description": "a label not in the taxonomy, named" },
            "404": { "description": "no such query" } } } },
        "/v1/runs": {
          "post": { "summary": "Start a run over the pending backlog",
            "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RunRequest" } } } },
            "responses": { "202": { "description": "{id, state, location}" }, "400": { "description": "invalid options: a value above the server's setting, or a webhook off the allow-list or on a private address" },
              "415": { "description": "not application/json" }, "429": { "description": "the most runs at once are running" },
              "503": { "description": "shutting down" } } },
          "get": { "summary": "Runs in progress and recent runs",
            "parameters": [ { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 20 } } ],
            "responses": { "200": { "description": "{active, runs}" } } } },
        "/v1/runs/{id}": { "get": { "summary": "A run: live progress (counts, rate, ETA, state) or its record",
          "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "responses": { "200": { "description": "the run" }, "404": { "description": "no such run" } } } },
        "/v1/runs/{id}/cancel": { "post": { "summary": "Stop a run: in-flight queries finish, the rest stay pending",
          "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } } ],
          "responses": { "202": { "description": "stopping" }, "404": { "description": "no such run" }, "409": { "description": "not running" } } } },
        "/v1/stats": { "get": { "summary": "Counts by status, category and priority",
          "responses": { "200": { "description": "{byStatus, byCategory, byPriority}" } } } },
        "/v1/status-page": { "get": { "summary": "The status page's content (HTML), as GET / shows it",
          "responses": { "200": { "description": "HTML" }, "401": { "description": "no valid API key" } } } }
      }
    }
    """#
}
