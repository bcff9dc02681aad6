"""Small library documents that several test files ingest."""

DATA_REQUEST_GUIDE = """---
id: data-request-guide
title: "Handling government requests for user data"
kind: guidance
topics: [government-requests, privacy]
---

# Handling government requests for user data

## 1. Check the legal basis

A request for user data must come with a written legal basis, such as a court order.
Staff should ask for the written basis before anything is disclosed to the authority.

## 2. Disclose as little as possible

The company discloses only the data the order covers and records every request it receives.
Requests that go beyond the order are narrowed or challenged through the legal team.
"""
