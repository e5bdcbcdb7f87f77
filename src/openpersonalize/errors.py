"""One exception class per AWS error code.

Raise these anywhere; the HTTP boundary (``openpersonalize.api``) turns them into the AWS error body
``{"__type": code, "message": ...}`` with the ``x-amzn-ErrorType`` header. Nothing else in the code
base formats error responses.
"""

from __future__ import annotations


class PersonalizeError(Exception):
    """Base of every error a client may see. ``code`` is the AWS error code (``__type``)."""

    code: str = "InternalFailure"
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInputException(PersonalizeError):
    code = "InvalidInputException"


class ResourceNotFoundException(PersonalizeError):
    code = "ResourceNotFoundException"
    status = 404

    @classmethod
    def for_arn(cls, arn: str) -> ResourceNotFoundException:
        return cls(f"Resource Arn {arn} does not exist.")


class ResourceAlreadyExistsException(PersonalizeError):
    code = "ResourceAlreadyExistsException"

    @classmethod
    def for_arn(cls, arn: str) -> ResourceAlreadyExistsException:
        return cls(f"Resource Arn {arn} already exists.")


class ResourceInUseException(PersonalizeError):
    code = "ResourceInUseException"
    status = 409


class LimitExceededException(PersonalizeError):
    code = "LimitExceededException"


class TooManyTagsException(PersonalizeError):
    code = "TooManyTagsException"


class TooManyTagKeysException(PersonalizeError):
    code = "TooManyTagKeysException"


class InvalidNextTokenException(PersonalizeError):
    code = "InvalidNextTokenException"


# Protocol-level errors that every AWS service may return.
class UnknownOperationException(PersonalizeError):
    code = "UnknownOperationException"


class SerializationException(PersonalizeError):
    code = "SerializationException"


class UnrecognizedClientException(PersonalizeError):
    code = "UnrecognizedClientException"
    status = 403


class InvalidSignatureException(PersonalizeError):
    code = "InvalidSignatureException"
    status = 403


class MissingAuthenticationTokenException(PersonalizeError):
    code = "MissingAuthenticationTokenException"
    status = 403


class NotFoundException(PersonalizeError):
    """An unknown path on the REST services."""

    code = "NotFoundException"
    status = 404


class MethodNotAllowedException(PersonalizeError):
    code = "MethodNotAllowedException"
    status = 405


class InternalFailure(PersonalizeError):
    code = "InternalFailure"
    status = 500


class IncompleteSignatureException(PersonalizeError):
    code = "IncompleteSignatureException"
    status = 403
