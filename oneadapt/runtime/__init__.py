"""The deployed programs: a server that decodes, infers and returns DNNGrad for many
streams, and a camera that encodes under a policy and sends, joined by a transport."""
