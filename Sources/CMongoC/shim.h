// MongoDB's official C driver (libmongoc) and its BSON library, as Swift sees them.
#ifndef TRIAGE_CMONGOC_SHIM_H
#define TRIAGE_CMONGOC_SHIM_H
#include <mongoc/mongoc.h>
#endif
