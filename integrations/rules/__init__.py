"""Pure rules shared by every layer, with no database and no HTTP: phone numbers,
ids, token names, credential names, trigger conditions, Ringba's conventions, and
the refusal every layer raises (``errors.Rejected``)."""
