// RsEngineSignals: draws the signals rsengine writes to its chart signal file.
//
// Part of rsengine (plugins/rsengine_ninjatrader/ninjascript). The file format,
// version 1, is documented in docs/ninjascript.md. The parser below (SignalFormat)
// has a Python twin, plugins/rsengine_ninjatrader/chart_twin.py, that the tests
// run against a shared fixture: change one, change the other.
//
// Install: copy this file to Documents\NinjaTrader 8\bin\Custom\Indicators, open
// the NinjaScript Editor and compile (F5); then add "RsEngineSignals" to a chart.
//
// Written for C# 5 (the NinjaTrader 8 compiler): no string interpolation, no
// "out var", no expression-bodied members.

#region Using declarations
using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;
using System.Windows;
using System.Windows.Media;
using System.Xml.Serialization;
using NinjaTrader.Cbi;
using NinjaTrader.Gui;
using NinjaTrader.Gui.Chart;
using NinjaTrader.Gui.Tools;
using NinjaTrader.Data;
using NinjaTrader.NinjaScript;
using NinjaTrader.Core.FloatingPoint;
using NinjaTrader.NinjaScript.DrawingTools;
#endregion

namespace NinjaTrader.NinjaScript.Indicators
{
	public class RsEngineSignals : Indicator
	{
		// ---- the file format (twin: chart_twin.py) --------------------------------

		public class SignalRecord
		{
			public int Line;
			public string Id;
			public DateTime TimeUtc;     // the bar-close stamp, DateTimeKind.Utc
			public string TimeLocal;     // for people; not parsed
			public string Session;
			public string Kind;
			public string Name;
			public string Instrument;
			public string Contract;
			public string Side;
			public double? Entry;
			public double? Stop;
			public double? Target;
			public int? Contracts;
			public string EntryId;
			public string Exit;
			public double? ExitPrice;
			public string Reason;
		}

		public static class SignalFormat
		{
			public const string Format = "rsengine-signals";
			public const string Version = "1";
			public const char Delimiter = '|';
			public static readonly string[] Fields = new string[]
			{
				"id",
				"time_utc",
				"time_local",
				"session",
				"kind",
				"name",
				"instrument",
				"contract",
				"side",
				"entry",
				"stop",
				"target",
				"contracts",
				"entry_id",
				"exit",
				"exit_price",
				"reason",
			};
			public const int FieldId = 0;
			public const int FieldTimeUtc = 1;
			public const int FieldTimeLocal = 2;
			public const int FieldSession = 3;
			public const int FieldKind = 4;
			public const int FieldName = 5;
			public const int FieldInstrument = 6;
			public const int FieldContract = 7;
			public const int FieldSide = 8;
			public const int FieldEntry = 9;
			public const int FieldStop = 10;
			public const int FieldTarget = 11;
			public const int FieldContracts = 12;
			public const int FieldEntryId = 13;
			public const int FieldExit = 14;
			public const int FieldExitPrice = 15;
			public const int FieldReason = 16;
			public const int FieldCount = 17;
			public static readonly string Header = "#" + Format + Delimiter + Version + Delimiter
				+ string.Join(Delimiter.ToString(), Fields);
			public static readonly string HeaderPrefix = "#" + Format + Delimiter;

			public static readonly string[] Kinds = new string[] { "context", "setup", "exit", "halt" };
			public static readonly string[] Sides = new string[] { "long", "short", "flat" };
			public const string AllInstruments = "*";

			// Whole-field patterns: a match must start at 0 and span the field.
			// [0-9], not \d, which is Unicode in .NET as in Python.
			public const string NumberPattern = @"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?";
			public const string CountPattern = @"[0-9]+";
			public const string TimePattern = @"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.([0-9]{7}))?Z";
			private static readonly Regex NumberRegex = new Regex(NumberPattern, RegexOptions.CultureInvariant);
			private static readonly Regex CountRegex = new Regex(CountPattern, RegexOptions.CultureInvariant);
			private static readonly Regex TimeRegex = new Regex(TimePattern, RegexOptions.CultureInvariant);

			// Reads the whole file. Opened with FileShare.ReadWrite | FileShare.Delete
			// so that rsengine can replace the file (os.replace) while it is open.
			public static List<string> ReadLines(string path)
			{
				List<string> lines = new List<string>();
				using (FileStream stream = new FileStream(path, FileMode.Open, FileAccess.Read,
					FileShare.ReadWrite | FileShare.Delete))
				using (StreamReader reader = new StreamReader(stream, new UTF8Encoding(false), true))
				{
					string line;
					while ((line = reader.ReadLine()) != null)
						lines.Add(line);
				}
				return lines;
			}

			// The records of a whole file; what was wrong goes to problems. A file whose
			// first line is not the v1 header gives no records; a bad line is skipped.
			public static List<SignalRecord> Parse(List<string> lines, List<string> problems)
			{
				List<SignalRecord> records = new List<SignalRecord>();
				if (lines.Count == 0)
					return records;
				if (lines[0] != Header)
				{
					if (lines[0].StartsWith(HeaderPrefix, StringComparison.Ordinal))
					{
						string version = lines[0].Substring(HeaderPrefix.Length).Split(Delimiter)[0];
						problems.Add("unsupported format version " + version + ", expected " + Version);
					}
					else
						problems.Add("not an rsengine signal file (bad first line)");
					return records;
				}
				for (int number = 2; number <= lines.Count; number++)
				{
					string line = lines[number - 1];
					if (line.Length == 0 || line.StartsWith("#", StringComparison.Ordinal))
						continue;
					string problem;
					SignalRecord record = ParseLine(line, number, out problem);
					if (record == null)
						problems.Add("line " + number + ": " + problem);
					else
						records.Add(record);
				}
				return records;
			}

			// One line -> a record, or null and why it was skipped.
			public static SignalRecord ParseLine(string line, int number, out string problem)
			{
				string[] raw = line.Split(Delimiter);
				if (raw.Length != FieldCount)
				{
					problem = raw.Length + " fields, expected " + FieldCount;
					return null;
				}
				string[] f = new string[FieldCount];
				for (int k = 0; k < FieldCount; k++)
				{
					f[k] = Unescape(raw[k]);
					if (f[k] == null)
					{
						problem = "bad escape in " + Fields[k];
						return null;
					}
				}
				if (f[FieldId].Length == 0)
				{
					problem = "empty id";
					return null;
				}
				DateTime timeUtc;
				if (!ParseTime(f[FieldTimeUtc], out timeUtc))
				{
					problem = "bad time_utc '" + f[FieldTimeUtc] + "'";
					return null;
				}
				if (Array.IndexOf(Kinds, f[FieldKind]) < 0)
				{
					problem = "unknown kind '" + f[FieldKind] + "'";
					return null;
				}
				if (Array.IndexOf(Sides, f[FieldSide]) < 0)
				{
					problem = "unknown side '" + f[FieldSide] + "'";
					return null;
				}
				int[] numberFields = new int[] { FieldEntry, FieldStop, FieldTarget, FieldExitPrice };
				double?[] numbers = new double?[FieldCount];
				foreach (int k in numberFields)
				{
					if (!ParseNumber(f[k], out numbers[k]))
					{
						problem = "bad number in " + Fields[k] + " '" + f[k] + "'";
						return null;
					}
				}
				int? contracts;
				if (!ParseCount(f[FieldContracts], out contracts))
				{
					problem = "bad contracts '" + f[FieldContracts] + "'";
					return null;
				}
				SignalRecord r = new SignalRecord();
				r.Line = number;
				r.Id = f[FieldId];
				r.TimeUtc = timeUtc;
				r.TimeLocal = f[FieldTimeLocal];
				r.Session = f[FieldSession];
				r.Kind = f[FieldKind];
				r.Name = f[FieldName];
				r.Instrument = f[FieldInstrument];
				r.Contract = f[FieldContract];
				r.Side = f[FieldSide];
				r.Entry = numbers[FieldEntry];
				r.Stop = numbers[FieldStop];
				r.Target = numbers[FieldTarget];
				r.Contracts = contracts;
				r.EntryId = f[FieldEntryId];
				r.Exit = f[FieldExit];
				r.ExitPrice = numbers[FieldExitPrice];
				r.Reason = f[FieldReason];
				problem = "";
				return r;
			}

			// \\ \p \n \r -> backslash, delimiter, LF, CR; any other backslash (or one
			// at the end) makes the field bad: null.
			public static string Unescape(string s)
			{
				StringBuilder output = new StringBuilder(s.Length);
				int i = 0;
				while (i < s.Length)
				{
					char c = s[i];
					if (c != '\\')
					{
						output.Append(c);
						i += 1;
						continue;
					}
					if (i + 1 >= s.Length)
						return null;
					char e = s[i + 1];
					if (e == '\\')
						output.Append('\\');
					else if (e == 'p')
						output.Append(Delimiter);
					else if (e == 'n')
						output.Append('\n');
					else if (e == 'r')
						output.Append('\r');
					else
						return null;
					i += 2;
				}
				return output.ToString();
			}

			private static Match Whole(Regex pattern, string s)
			{
				Match m = pattern.Match(s);
				return m.Success && m.Index == 0 && m.Length == s.Length ? m : null;
			}

			// Empty -> true and null; US decimal -> true and the value; else false.
			public static bool ParseNumber(string s, out double? value)
			{
				value = null;
				if (s.Length == 0)
					return true;
				if (Whole(NumberRegex, s) == null)
					return false;
				double x;
				if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out x))
					return false;
				if (double.IsNaN(x) || double.IsInfinity(x))
					return false;
				value = x;
				return true;
			}

			// Empty -> true and null; digits within Int32 -> true and the value; else false.
			public static bool ParseCount(string s, out int? value)
			{
				value = null;
				if (s.Length == 0)
					return true;
				if (Whole(CountRegex, s) == null)
					return false;
				int n;
				if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n))
					return false;
				value = n;
				return true;
			}

			// yyyy-MM-ddTHH:mm:ssZ, or with 7 fraction digits (100 ns ticks), UTC.
			public static bool ParseTime(string s, out DateTime utc)
			{
				utc = DateTime.MinValue;
				Match m = Whole(TimeRegex, s);
				if (m == null)
					return false;
				int[] p = new int[6];
				for (int k = 0; k < 6; k++)
					p[k] = int.Parse(m.Groups[k + 1].Value, NumberStyles.None, CultureInfo.InvariantCulture);
				long ticks = m.Groups[8].Success
					? long.Parse(m.Groups[8].Value, NumberStyles.None, CultureInfo.InvariantCulture)
					: 0;
				try
				{
					utc = new DateTime(p[0], p[1], p[2], p[3], p[4], p[5], DateTimeKind.Utc).AddTicks(ticks);
				}
				catch (ArgumentOutOfRangeException)
				{
					return false;
				}
				return true;
			}

			// "MES 03-25" -> "MES": the master instrument name.
			public static string ContractRoot(string contract)
			{
				int space = contract.IndexOf(' ');
				return space < 0 ? contract : contract.Substring(0, space);
			}

			// The exit of each entry id (a later one wins).
			public static Dictionary<string, SignalRecord> ExitsByEntry(List<SignalRecord> records)
			{
				Dictionary<string, SignalRecord> exits = new Dictionary<string, SignalRecord>();
				foreach (SignalRecord r in records)
					if (r.Kind == "exit" && r.EntryId.Length > 0)
						exits[r.EntryId] = r;
				return exits;
			}

			// Whether a record belongs on the chart of masterName ("ES") / fullName
			// ("ES 03-25"). An exit goes where its entry goes; a halt on "*" everywhere.
			public static bool Matches(SignalRecord r, string masterName, string fullName,
				bool matchContract, Dictionary<string, SignalRecord> entries)
			{
				if (r.Kind == "halt" && r.Instrument == AllInstruments)
					return true;
				SignalRecord entry;
				if (r.Kind == "exit" && entries.TryGetValue(r.EntryId, out entry))
					return Matches(entry, masterName, fullName, matchContract, entries);
				if (r.Contract.Length > 0)
				{
					if (matchContract)
						return r.Contract == fullName;
					return ContractRoot(r.Contract) == masterName || r.Instrument == masterName;
				}
				return r.Instrument == masterName;
			}
		}

		// ---- the indicator ----------------------------------------------------------

		private const int MaxProblemsPrinted = 20;
		private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

		private List<SignalRecord> records = new List<SignalRecord>();
		private DateTime lastWriteUtc = DateTime.MinValue;
		private long lastLength = -1;
		private DateTime nextCheckUtc = DateTime.MinValue;
		private bool needsRedraw;
		private bool waitingForBars;   // a signal newer than the chart's last bar, or a trade still open
		private TimeZoneInfo chartZone;

		protected override void OnStateChange()
		{
			if (State == State.SetDefaults)
			{
				Description = "Draws the signals of rsengine's chart signal file (format v1).";
				Name = "RsEngineSignals";
				Calculate = Calculate.OnPriceChange;
				IsOverlay = true;
				DisplayInDataBox = false;
				DrawOnPricePanel = true;
				PaintPriceMarkers = false;
				IsSuspendedWhileInactive = true;
				SignalFilePath = NinjaTrader.Core.Globals.UserDataDir + "rsengine\\signals.txt";
				ShowContext = true;
				ShowSetups = true;
				ShowExits = true;
				ShowHalts = true;
				ShowReason = true;
				MatchContract = false;
				ReasonMaxLength = 160;
				LongBrush = Brushes.LimeGreen;
				ShortBrush = Brushes.Red;
				StopBrush = Brushes.OrangeRed;
				TargetBrush = Brushes.DodgerBlue;
				ExitBrush = Brushes.Gold;
				ContextBrush = Brushes.Cyan;
				HaltBrush = Brushes.DarkOrange;
				TextBrush = Brushes.WhiteSmoke;
			}
			else if (State == State.DataLoaded)
			{
				// Bar times are in the time zone of Tools > Options > General.
				chartZone = NinjaTrader.Core.Globals.GeneralOptions.TimeZoneInfo ?? TimeZoneInfo.Local;
				records = new List<SignalRecord>();
				lastWriteUtc = DateTime.MinValue;
				lastLength = -1;
				nextCheckUtc = DateTime.MinValue;
				needsRedraw = false;
				waitingForBars = false;
			}
			else if (State == State.Terminated)
			{
				// Nothing stays open between reads (the file is opened, read and
				// closed in ReadLines); let go of what was read.
				records = null;
			}
		}

		protected override void OnBarUpdate()
		{
			// History: only the last bars matter, every signal is drawn at once.
			if (State == State.Historical && CurrentBar < Count - 2)
				return;
			if (records == null)
				return;
			DateTime now = DateTime.UtcNow;
			if (now >= nextCheckUtc)
			{
				nextCheckUtc = now + CheckEvery;
				ReloadIfChanged();
			}
			if (needsRedraw || (waitingForBars && IsFirstTickOfBar))
				DrawAll();
		}

		private void ReloadIfChanged()
		{
			try
			{
				if (!File.Exists(SignalFilePath))
				{
					if (records.Count > 0)
					{
						records = new List<SignalRecord>();
						needsRedraw = true;
					}
					lastWriteUtc = DateTime.MinValue;
					lastLength = -1;
					return;
				}
				FileInfo info = new FileInfo(SignalFilePath);
				if (info.LastWriteTimeUtc == lastWriteUtc && info.Length == lastLength)
					return;
				List<string> problems = new List<string>();
				List<SignalRecord> read = SignalFormat.Parse(SignalFormat.ReadLines(SignalFilePath), problems);
				for (int k = 0; k < problems.Count && k < MaxProblemsPrinted; k++)
					Print("RsEngineSignals: " + SignalFilePath + ": " + problems[k]);
				if (problems.Count > MaxProblemsPrinted)
					Print("RsEngineSignals: ... and " + (problems.Count - MaxProblemsPrinted) + " more");
				records = read;
				lastWriteUtc = info.LastWriteTimeUtc;
				lastLength = info.Length;
				needsRedraw = true;
			}
			catch (Exception e)
			{
				// Being replaced right now, or unreadable: keep what is drawn and try
				// again at the next check (the write time is not remembered).
				Print("RsEngineSignals: cannot read " + SignalFilePath + ": " + e.Message);
			}
		}

		// ---- drawing ------------------------------------------------------------------

		private void DrawAll()
		{
			needsRedraw = false;
			waitingForBars = false;
			RemoveDrawObjects();
			if (records.Count == 0 || Bars == null || Bars.Count == 0)
				return;
			Dictionary<string, SignalRecord> entries = new Dictionary<string, SignalRecord>();
			foreach (SignalRecord r in records)
				if (r.Kind == "setup")
					entries[r.Id] = r;
			Dictionary<string, SignalRecord> exits = SignalFormat.ExitsByEntry(records);
			string master = Instrument.MasterInstrument.Name;
			string full = Instrument.FullName;
			foreach (SignalRecord r in records)
			{
				if (!SignalFormat.Matches(r, master, full, MatchContract, entries))
					continue;
				try
				{
					DrawRecord(r, exits);
				}
				catch (Exception e)
				{
					Print("RsEngineSignals: line " + r.Line + " not drawn: " + e.Message);
				}
			}
		}

		// The absolute index of the first bar stamped at or after the signal's
		// bar-close stamp (NinjaTrader stamps bars at their close too), or -1 when
		// the chart has no such bar yet, or the signal is older than the chart.
		private int BarOf(DateTime utc)
		{
			DateTime t = TimeZoneInfo.ConvertTimeFromUtc(utc, chartZone);
			int count = Bars.Count;
			if (count == 0 || t < Bars.GetTime(0))
				return -1;
			int lo = 0, hi = count;
			while (lo < hi)
			{
				int mid = (lo + hi) / 2;
				if (Bars.GetTime(mid) < t)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo >= count)
			{
				waitingForBars = true;
				return -1;
			}
			return lo;
		}

		private void DrawRecord(SignalRecord r, Dictionary<string, SignalRecord> exits)
		{
			if (r.Kind == "setup" && ShowSetups)
				DrawSetup(r, exits);
			else if (r.Kind == "exit" && ShowExits)
				DrawExit(r);
			else if (r.Kind == "context" && ShowContext)
				DrawContext(r);
			else if (r.Kind == "halt" && ShowHalts)
				DrawHalt(r);
		}

		private void DrawSetup(SignalRecord r, Dictionary<string, SignalRecord> exits)
		{
			int bar = BarOf(r.TimeUtc);
			if (bar < 0)
				return;
			DateTime at = Bars.GetTime(bar);
			bool traded = r.Contracts.HasValue && r.Contracts.Value > 0;
			bool isLong = r.Side == "long";
			Brush brush = !traded ? Brushes.Gray : isLong ? LongBrush : ShortBrush;
			double y = isLong ? Bars.GetLow(bar) - 2 * TickSize : Bars.GetHigh(bar) + 2 * TickSize;
			if (isLong)
				Draw.ArrowUp(this, Tag(r, "arrow"), false, at, y, brush);
			else
				Draw.ArrowDown(this, Tag(r, "arrow"), false, at, y, brush);

			// Stop and target from the entry bar to the exit's bar, or to the last bar
			// while the trade is open.
			DateTime end = Bars.GetTime(Bars.Count - 1);
			SignalRecord exit;
			if (exits.TryGetValue(r.Id, out exit))
			{
				int exitBar = BarOf(exit.TimeUtc);
				if (exitBar >= 0)
					end = Bars.GetTime(exitBar);
			}
			else if (traded)
				waitingForBars = true;
			if (r.Stop.HasValue)
				Draw.Line(this, Tag(r, "stop"), false, at, r.Stop.Value, end, r.Stop.Value,
					StopBrush, DashStyleHelper.Dash, 2);
			if (r.Target.HasValue)
				Draw.Line(this, Tag(r, "target"), false, at, r.Target.Value, end, r.Target.Value,
					TargetBrush, DashStyleHelper.Dash, 2);

			string head = r.Name + " " + r.Side
				+ (traded ? " " + r.Contracts.Value + " " + r.Contract : " (no order)");
			DrawLabel(r, at, isLong ? y - 4 * TickSize : y + 4 * TickSize, head, isLong ? 20 : -20);
		}

		private void DrawExit(SignalRecord r)
		{
			int bar = BarOf(r.TimeUtc);
			if (bar < 0)
				return;
			DateTime at = Bars.GetTime(bar);
			double y = r.ExitPrice.HasValue ? r.ExitPrice.Value : Bars.GetClose(bar);
			Draw.Square(this, Tag(r, "exit"), false, at, y, ExitBrush);
			DrawLabel(r, at, y, "exit " + r.Exit, -20);
		}

		private void DrawContext(SignalRecord r)
		{
			int bar = BarOf(r.TimeUtc);
			if (bar < 0)
				return;
			DateTime at = Bars.GetTime(bar);
			double y = r.Side == "long" ? Bars.GetLow(bar) - 2 * TickSize
				: r.Side == "short" ? Bars.GetHigh(bar) + 2 * TickSize
				: Bars.GetClose(bar);
			Draw.Diamond(this, Tag(r, "context"), false, at, y, ContextBrush);
			DrawLabel(r, at, y, r.Name, r.Side == "long" ? 20 : -20);
		}

		private void DrawHalt(SignalRecord r)
		{
			int bar = BarOf(r.TimeUtc);
			if (bar < 0)
				return;
			DateTime at = Bars.GetTime(bar);
			Draw.VerticalLine(this, Tag(r, "halt"), at, HaltBrush, DashStyleHelper.Solid, 2, true);
			DrawLabel(r, at, Bars.GetHigh(bar) + 4 * TickSize, "HALT " + r.Name, -20);
		}

		private void DrawLabel(SignalRecord r, DateTime at, double y, string head, int yPixelOffset)
		{
			string text = head;
			if (ShowReason && r.Reason.Length > 0)
				text += "\n" + Shorten(r.Reason);
			Draw.Text(this, Tag(r, "text"), false, text, at, y, yPixelOffset, TextBrush,
				new SimpleFont("Arial", 10), TextAlignment.Center, Brushes.Transparent,
				Brushes.Transparent, 0);
		}

		private string Shorten(string reason)
		{
			if (ReasonMaxLength <= 0 || reason.Length <= ReasonMaxLength)
				return reason;
			return reason.Substring(0, ReasonMaxLength) + "...";
		}

		private static string Tag(SignalRecord r, string part)
		{
			return "rsengine." + r.Id + "." + r.Kind + "." + part;
		}

		// ---- properties ---------------------------------------------------------------

		[Display(Name = "Signal file", Description = "The file rsengine's ninjatrader output writes",
			Order = 1, GroupName = "Signal file")]
		public string SignalFilePath { get; set; }

		[Display(Name = "Match contract", Description = "Only signals of this chart's contract month (otherwise by instrument root)",
			Order = 2, GroupName = "Signal file")]
		public bool MatchContract { get; set; }

		[Display(Name = "Context signals", Order = 1, GroupName = "Kinds")]
		public bool ShowContext { get; set; }

		[Display(Name = "Trade setups", Order = 2, GroupName = "Kinds")]
		public bool ShowSetups { get; set; }

		[Display(Name = "Exits", Order = 3, GroupName = "Kinds")]
		public bool ShowExits { get; set; }

		[Display(Name = "Halts", Order = 4, GroupName = "Kinds")]
		public bool ShowHalts { get; set; }

		[Display(Name = "Show reason", Order = 5, GroupName = "Kinds")]
		public bool ShowReason { get; set; }

		[Range(0, int.MaxValue)]
		[Display(Name = "Reason max length", Description = "0: the whole reason",
			Order = 6, GroupName = "Kinds")]
		public int ReasonMaxLength { get; set; }

		[XmlIgnore]
		[Display(Name = "Long", Order = 1, GroupName = "Colors")]
		public Brush LongBrush { get; set; }

		[Browsable(false)]
		public string LongBrushSerializable
		{
			get { return Serialize.BrushToString(LongBrush); }
			set { LongBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Short", Order = 2, GroupName = "Colors")]
		public Brush ShortBrush { get; set; }

		[Browsable(false)]
		public string ShortBrushSerializable
		{
			get { return Serialize.BrushToString(ShortBrush); }
			set { ShortBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Stop", Order = 3, GroupName = "Colors")]
		public Brush StopBrush { get; set; }

		[Browsable(false)]
		public string StopBrushSerializable
		{
			get { return Serialize.BrushToString(StopBrush); }
			set { StopBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Target", Order = 4, GroupName = "Colors")]
		public Brush TargetBrush { get; set; }

		[Browsable(false)]
		public string TargetBrushSerializable
		{
			get { return Serialize.BrushToString(TargetBrush); }
			set { TargetBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Exit", Order = 5, GroupName = "Colors")]
		public Brush ExitBrush { get; set; }

		[Browsable(false)]
		public string ExitBrushSerializable
		{
			get { return Serialize.BrushToString(ExitBrush); }
			set { ExitBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Context", Order = 6, GroupName = "Colors")]
		public Brush ContextBrush { get; set; }

		[Browsable(false)]
		public string ContextBrushSerializable
		{
			get { return Serialize.BrushToString(ContextBrush); }
			set { ContextBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Halt", Order = 7, GroupName = "Colors")]
		public Brush HaltBrush { get; set; }

		[Browsable(false)]
		public string HaltBrushSerializable
		{
			get { return Serialize.BrushToString(HaltBrush); }
			set { HaltBrush = Serialize.StringToBrush(value); }
		}

		[XmlIgnore]
		[Display(Name = "Text", Order = 8, GroupName = "Colors")]
		public Brush TextBrush { get; set; }

		[Browsable(false)]
		public string TextBrushSerializable
		{
			get { return Serialize.BrushToString(TextBrush); }
			set { TextBrush = Serialize.StringToBrush(value); }
		}
	}
}

#region NinjaScript generated code. Neither change nor remove.

namespace NinjaTrader.NinjaScript.Indicators
{
	public partial class Indicator : NinjaTrader.Gui.NinjaScript.IndicatorRenderBase
	{
		private RsEngineSignals[] cacheRsEngineSignals;
		public RsEngineSignals RsEngineSignals()
		{
			return RsEngineSignals(Input);
		}

		public RsEngineSignals RsEngineSignals(ISeries<double> input)
		{
			if (cacheRsEngineSignals != null)
				for (int idx = 0; idx < cacheRsEngineSignals.Length; idx++)
					if (cacheRsEngineSignals[idx] != null &&  cacheRsEngineSignals[idx].EqualsInput(input))
						return cacheRsEngineSignals[idx];
			return CacheIndicator<RsEngineSignals>(new RsEngineSignals(), input, ref cacheRsEngineSignals);
		}
	}
}

namespace NinjaTrader.NinjaScript.MarketAnalyzerColumns
{
	public partial class MarketAnalyzerColumn : MarketAnalyzerColumnBase
	{
		public Indicators.RsEngineSignals RsEngineSignals()
		{
			return indicator.RsEngineSignals(Input);
		}

		public Indicators.RsEngineSignals RsEngineSignals(ISeries<double> input )
		{
			return indicator.RsEngineSignals(input);
		}
	}
}

namespace NinjaTrader.NinjaScript.Strategies
{
	public partial class Strategy : NinjaTrader.Gui.NinjaScript.StrategyRenderBase
	{
		public Indicators.RsEngineSignals RsEngineSignals()
		{
			return indicator.RsEngineSignals(Input);
		}

		public Indicators.RsEngineSignals RsEngineSignals(ISeries<double> input )
		{
			return indicator.RsEngineSignals(input);
		}
	}
}

#endregion
