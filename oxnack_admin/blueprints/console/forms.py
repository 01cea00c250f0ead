"""The console's forms: fields and their checks; the views decide what a valid form does."""
from datetime import timezone

from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, EmailField, HiddenField, IntegerField, PasswordField, SelectField, \
    StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp, \
    ValidationError

from oxnack_admin.models.enums import StaffRole
from oxnack_admin.services.accounts import admin as accounts_admin
from oxnack_admin.services.accounts.admin import CustomerActionError
from oxnack_admin.services.accounts.passwords import verify_password
from oxnack_admin.services.market.admin import MarketValues
from oxnack_admin.services.money import promocodes_admin
from oxnack_admin.services.money.promocodes import MAX_PROMO_LENGTH
from oxnack_admin.services.money.promocodes_admin import PromocodeValues
from oxnack_admin.services.payments import admin as payments_admin
from oxnack_admin.services.proxies import sync
from oxnack_admin.services.staff import api_tokens
from oxnack_admin.services.staff.staff import MIN_STAFF_PASSWORD

ROLE_CHOICES = [(role.value, role.value) for role in StaffRole]
MAC = Regexp(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$", message="Six hex pairs, e.g. 52:54:00:12:34:56.")


STALE_FORM = "This form is out of date; reload the page, check the balance and submit again."


class AdjustBalanceForm(FlaskForm):
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])
    # One per rendered form, used as the ledger row's idempotency key: sending the same form twice credits once.
    submit_token = HiddenField()

    @classmethod
    def blank(cls) -> "AdjustBalanceForm":
        form = cls(formdata=None)
        form.submit_token.data = accounts_admin.new_submit_token()
        return form

    def validate_submit_token(self, field) -> None:
        if not accounts_admin.is_submit_token(field.data):
            field.data = accounts_admin.new_submit_token()  # the redrawn form can be sent
            raise ValidationError(STALE_FORM)

    def validate_amount(self, field) -> None:
        try:
            self.parsed_amount = accounts_admin.parse_amount(field.data)
        except CustomerActionError as error:
            raise ValidationError(str(error)) from None


class MarketForm(FlaskForm):
    name_ru = StringField("Name (Russian)", validators=[DataRequired(), Length(max=200)])
    description_ru = TextAreaField("Description (Russian)", validators=[DataRequired(), Length(max=4000)])
    name_en = StringField("Name (English)", validators=[DataRequired(), Length(max=200)])
    description_en = TextAreaField("Description (English)", validators=[DataRequired(), Length(max=4000)])
    price_rub = IntegerField("Price, RUB", validators=[InputRequired(), NumberRange(0, 100_000_000)])
    price_usd = IntegerField("Price, USD", validators=[InputRequired(), NumberRange(0, 1_000_000)])
    enabled = BooleanField("Shown on the marketplace", default=True)
    image = FileField("Image")

    def values(self) -> MarketValues:
        return MarketValues(self.name_ru.data.strip(), self.description_ru.data.strip(), self.name_en.data.strip(),
                            self.description_en.data.strip(), self.price_usd.data, self.price_rub.data,
                            self.enabled.data)


class PoolVmForm(FlaskForm):
    vmid = IntegerField("VMID", validators=[InputRequired(), NumberRange(100, 999_999_999)])
    os = SelectField("OS", validators=[DataRequired()])
    ips = StringField("Public IPv4 addresses", validators=[DataRequired(), Length(max=500)])
    lan_ip = StringField("LAN address", validators=[Optional(), Length(max=45)])
    mac = StringField("MAC", validators=[Optional(), MAC])
    node = StringField("Proxmox node", validators=[Optional(), Length(max=64)])
    country = SelectField("Country", validators=[Optional()])


class PoolRangeForm(FlaskForm):
    first_vmid = IntegerField("First VMID", validators=[InputRequired(), NumberRange(100, 999_999_999)])
    last_vmid = IntegerField("Last VMID", validators=[InputRequired(), NumberRange(100, 999_999_999)])
    os = SelectField("OS", validators=[DataRequired()])
    first_ip = StringField("First public IPv4", validators=[DataRequired(), Length(max=45)])
    first_lan_ip = StringField("First LAN address", validators=[Optional(), Length(max=45)])
    node = StringField("Proxmox node", validators=[Optional(), Length(max=64)])
    country = SelectField("Country", validators=[Optional()])


class ServerEditForm(FlaskForm):
    os = SelectField("OS", validators=[DataRequired()])
    ips = StringField("Public IPv4 addresses", validators=[DataRequired(), Length(max=500)])
    lan_ip = StringField("LAN address", validators=[Optional(), Length(max=45)])
    mac = StringField("MAC", validators=[Optional(), MAC])
    node = StringField("Proxmox node", validators=[Optional(), Length(max=64)])
    country = SelectField("Country", validators=[Optional()])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    attention = TextAreaField("Needs attention", validators=[Optional(), Length(max=1000)])


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class SecondFactorForm(FlaskForm):
    """The code after the password (or at enrolment): six digits from the authenticator app."""
    code = StringField("Code from your authenticator app", validators=[DataRequired(), Length(max=10)])


class RecoveryCodeForm(FlaskForm):
    recovery_code = StringField("Recovery code", validators=[DataRequired(), Length(max=40)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_STAFF_PASSWORD, max=200)])
    confirm = PasswordField("New password again", validators=[DataRequired(), EqualTo("new_password", "The two entries differ.")])

    def validate_current_password(self, field) -> None:
        if not verify_password(current_user.password_hash, field.data)[0]:
            raise ValidationError("This is not your current password.")


class NewTokenForm(FlaskForm):
    name = StringField("What is it for?", validators=[Optional(), Length(max=api_tokens.MAX_NAME_LENGTH)])


class NewStaffForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254),
                                             Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Not an e-mail address.")])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=StaffRole.SUPPORT.value)
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=MIN_STAFF_PASSWORD, max=200)])


class PromocodeForm(FlaskForm):
    discount = IntegerField("Discount, %", validators=[InputRequired(), NumberRange(1, 100)])
    expires_at = DateTimeLocalField("Expires (UTC)", validators=[Optional()])
    max_uses = IntegerField("Max uses in total", validators=[Optional(), NumberRange(1, 10_000_000)])
    per_user_limit = IntegerField("Uses per customer", default=1, validators=[InputRequired(), NumberRange(1, 1000)])
    enabled = BooleanField("Enabled", default=True)

    def values(self) -> PromocodeValues:
        expires = self.expires_at.data.replace(tzinfo=timezone.utc) if self.expires_at.data else None
        return PromocodeValues(self.discount.data, expires, self.max_uses.data, self.per_user_limit.data,
                               self.enabled.data)


class NewPromocodeForm(PromocodeForm):
    promo = StringField("Code", validators=[
        DataRequired(), Regexp(rf"^[A-Za-z0-9_-]{{2,{MAX_PROMO_LENGTH}}}$",
                               message="2–64 letters, digits, - or _.")])

    def validate_promo(self, field) -> None:
        if promocodes_admin.is_reserved(field.data):
            raise ValidationError("The order form reads this text as no promocode at all.")
        if promocodes_admin.exists(field.data):
            raise ValidationError("A promocode with this code exists already.")


class MarkPaidForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=payments_admin.MAX_REASON)])

    def validate_reason(self, field) -> None:
        if field.errors:  # Length already said why: one message, as before
            return
        try:
            self.cleaned_reason = payments_admin.clean_reason(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class SyncForm(FlaskForm):
    country_code = StringField("Country code", validators=[Optional(), Regexp(r"^[A-Za-z]{2,3}$",
                                                                              message="Two or three letters.")])
    page_size = IntegerField("Page size", default=100,
                             validators=[InputRequired(), NumberRange(sync.MIN_PAGE_SIZE, sync.MAX_PAGE_SIZE)])
