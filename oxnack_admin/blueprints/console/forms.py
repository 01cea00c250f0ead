"""The console's forms: fields and their checks; the views decide what a valid form does."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from oxnack_admin.services.accounts import admin as accounts_admin
from oxnack_admin.services.accounts.admin import CustomerActionError
from oxnack_admin.services.market.admin import MarketValues

MAC = Regexp(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$", message="Six hex pairs, e.g. 52:54:00:12:34:56.")


class AdjustBalanceForm(FlaskForm):
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])

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
